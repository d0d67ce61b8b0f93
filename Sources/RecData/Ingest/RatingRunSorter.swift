import Foundation

/// One accepted rating row, waiting for the sorted insert at the end of an import.
struct StagedRating: Sendable {
    var user: Int64
    var item: Int64
    var value: Double
    var timestamp: Int64
    /// Arrival order over the whole import: "later in the file" for the duplicate policies.
    var sequence: Int64
    /// Index of the input file (in `DatasetWriter`'s file list) and 1-based line, for messages.
    var file: Int32
    var line: Int32

    /// The rating table's key order, arrival order within a key.
    @inline(__always)
    static func precedes(_ a: StagedRating, _ b: StagedRating) -> Bool {
        if a.user != b.user { return a.user < b.user }
        if a.item != b.item { return a.item < b.item }
        return a.sequence < b.sequence
    }
}

/// An external merge sort of rating rows by (user, item, arrival), in bounded memory.
///
/// Rows collect in a buffer of `runLength`; a full buffer is sorted and written as one run to an
/// anonymous temporary file (unlinked as soon as it is opened, so a killed import leaves nothing
/// behind); `forEachSorted` merges the runs with the last, in-memory buffer. A full buffer is
/// sorted and written on a background queue while the importer fills the next one, so parsing
/// and sorting use both cores. Memory stays at two buffers (48 bytes a row) plus a read window
/// per run, whatever the number of ratings.
///
/// Why not sort in SQLite: a staging table costs an insert per row plus SQLite's own sort, about
/// twice the time of the whole import at 10M rows (Docs/benchmarks.md).
final class RatingRunSorter {
    let runLength: Int
    private var buffer: [StagedRating] = []
    private var runs: [(start: Int, count: Int)] = []
    private var fd: Int32 = -1
    private var written = 0
    private static let rowBytes = MemoryLayout<StagedRating>.stride
    /// At most one run is being sorted and written in the background at a time.
    private let spillQueue = DispatchQueue(label: "rec-import-sort")
    private let spilling = DispatchGroup()
    private let spillFailure = FailureBox()

    /// Rows appended so far.
    private(set) var count = 0

    init(runLength: Int = 1 << 20) {
        precondition(runLength > 0)
        self.runLength = runLength
        buffer.reserveCapacity(min(runLength, 1 << 16))
    }

    deinit {
        spilling.wait()
        if fd >= 0 { close(fd) }
    }

    @inline(__always)
    func append(_ row: StagedRating) throws {
        buffer.append(row)
        count += 1
        if buffer.count == runLength { try spill() }
    }

    private func spill() throws {
        if fd < 0 { fd = try RatingRunSorter.anonymousFile() }
        // The buffer moves into a box the background job owns, so sorting it copies nothing.
        let run = RunBox(rows: buffer)
        buffer = []
        buffer.reserveCapacity(runLength)
        let offset = written, fd = fd, failure = spillFailure
        runs.append((offset / RatingRunSorter.rowBytes, run.rows.count))
        written += run.rows.count * RatingRunSorter.rowBytes
        spilling.wait()
        try spillFailure.rethrow()
        spillQueue.async(group: spilling) {
            run.rows.sort(by: StagedRating.precedes)
            do { try RatingRunSorter.write(run.rows, fd: fd, at: offset) } catch { failure.record(error) }
            run.rows = []
        }
    }

    /// One run on its way to the sort file, owned by the background job once handed over.
    private final class RunBox: @unchecked Sendable {
        var rows: [StagedRating]
        init(rows: [StagedRating]) { self.rows = rows }
    }

    private static func write(_ rows: [StagedRating], fd: Int32, at offset: Int) throws {
        let bytes = rows.count * rowBytes
        try rows.withUnsafeBytes { raw in
            var done = 0
            while done < bytes {
                let n = pwrite(fd, raw.baseAddress! + done, bytes - done, off_t(offset + done))
                guard n > 0 else { throw ioError("write to the import's sort file", errno) }
                done += n
            }
        }
    }

    /// The first error of a background spill, handed back to the importing thread.
    private final class FailureBox: @unchecked Sendable {
        private let lock = NSLock()
        private var error: (any Error)?
        func record(_ e: any Error) { lock.withLock { if error == nil { error = e } } }
        func rethrow() throws { if let e = lock.withLock({ error }) { throw e } }
    }

    /// Calls `body` with every row in (user, item, arrival) order. Consumes the sorter.
    func forEachSorted(_ body: (StagedRating) throws -> Void) throws {
        buffer.sort(by: StagedRating.precedes)
        spilling.wait()
        try spillFailure.rethrow()
        if runs.isEmpty {
            for row in buffer { try body(row) }
            return
        }
        // k-way merge: one cursor per spilled run (read in windows) plus the in-memory tail, with a
        // binary heap of cursor indices ordered by each cursor's current row.
        var cursors = runs.map { RunCursor(fd: fd, start: $0.start, count: $0.count, window: 1 << 13) }
        cursors.append(RunCursor(rows: buffer))
        buffer = []
        for i in cursors.indices { try cursors[i].refill() }
        var heap = cursors.indices.filter { !cursors[$0].exhausted }
        func less(_ a: Int, _ b: Int) -> Bool { StagedRating.precedes(cursors[a].current, cursors[b].current) }
        func siftDown(_ start: Int) {
            var i = start
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count && less(heap[l], heap[m]) { m = l }
                if r < heap.count && less(heap[r], heap[m]) { m = r }
                if m == i { return }
                heap.swapAt(i, m)
                i = m
            }
        }
        for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
        while let top = heap.first {
            try body(cursors[top].current)
            try cursors[top].advance()
            if cursors[top].exhausted {
                heap[0] = heap[heap.count - 1]
                heap.removeLast()
            }
            if !heap.isEmpty { siftDown(0) }
        }
    }

    /// A read window over one sorted run.
    private struct RunCursor {
        let fd: Int32
        var next: Int           // next row of the run to read from the file
        let end: Int
        var rows: [StagedRating]
        var position = 0
        let window: Int
        let inMemory: Bool

        init(fd: Int32, start: Int, count: Int, window: Int) {
            self.fd = fd; next = start; end = start + count; rows = []; self.window = window; inMemory = false
        }

        init(rows: [StagedRating]) {
            fd = -1; next = 0; end = 0; self.rows = rows; window = 0; inMemory = true
        }

        var exhausted: Bool { position >= rows.count }
        var current: StagedRating { rows[position] }

        mutating func advance() throws {
            position += 1
            if position >= rows.count && !inMemory { try refill() }
        }

        mutating func refill() throws {
            guard !inMemory, next < end else { return }
            let n = min(window, end - next)
            let size = RatingRunSorter.rowBytes
            rows = [StagedRating](unsafeUninitializedCapacity: n) { buf, initialized in
                let raw = UnsafeMutableRawPointer(buf.baseAddress!)
                var done = 0
                while done < n * size {
                    let got = pread(fd, raw + done, n * size - done, off_t(next * size + done))
                    if got <= 0 { break }
                    done += got
                }
                initialized = done / size
            }
            guard rows.count == n else { throw RatingRunSorter.ioError("read back the import's sort file", errno) }
            next += n
            position = 0
        }
    }

    private static func anonymousFile() throws -> Int32 {
        var template = Array((FileManager.default.temporaryDirectory.path + "/rec-import-sort-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw ioError("create a sort file in \(FileManager.default.temporaryDirectory.path) (set TMPDIR to a folder with space)", errno) }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        return fd
    }

    private static func ioError(_ what: String, _ code: Int32) -> StoreError {
        StoreError.invalidArgument("could not \(what): \(String(cString: strerror(code)))")
    }
}
