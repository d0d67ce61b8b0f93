// `validate-rewards`: the command lives in the RecCLI library so that a package depending on this
// one can run the same command line with its own metrics added (Docs/metrics.md).
import RecCLI

ValidateRewardsCommand.main()
