/// Ranking helpers shared by the rank statistics.
public enum Ranks {
    /// 1-based ranks with ties given the average of the positions they span ("average" method of
    /// `scipy.stats.rankdata`), which is what Spearman's ρ and the Mann–Whitney AUC require.
    public static func average(_ values: [Double]) -> [Double] {
        let order = sortedIndices(values)
        var ranks = [Double](repeating: 0, count: values.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
            // Positions i...j (0-based) share rank mean(i+1 ... j+1).
            let r = Double(i + j + 2) / 2
            for t in i...j { ranks[order[t]] = r }
            i = j + 1
        }
        return ranks
    }

    /// Indices that sort `values` ascending; equal values keep input order (stable).
    public static func sortedIndices(_ values: [Double]) -> [Int] {
        Array(values.indices).sorted { a, b in
            values[a] < values[b] || (values[a] == values[b] && a < b)
        }
    }
}
