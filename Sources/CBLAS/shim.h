#include <cblas.h>
/* OpenBLAS extras (openblas_get_corename, openblas_set_num_threads, ...) come with cblas.h
   from libopenblas-dev through openblas_config.h. */
