import Foundation
import RecKit

/// Quality measures of stored runs, and filtered copies of them.
extension RationaleStore {
    /// Each user of a run with the titles of the items in their prompt: the liked (and, when the run
    /// asked for them, disliked) training items its profile cut shows (`profile` in the run's
    /// configuration; the default cut for runs without one, such as imports). An item without a
    /// title contributes its text.
    public func qualityInputs(run: RationaleRun, builder: ProfileBuilder) throws -> [RationaleQualityInput] {
        try records(runID: run.id).map { rec in
            let p = builder.profile(userID: rec.userID, externalID: rec.externalID)
            let titles = (p.liked + p.disliked).map { $0.fields.title.isEmpty ? $0.text : $0.fields.title }
            return RationaleQualityInput(userID: rec.userID, texts: rec.texts, titles: titles)
        }
    }

    /// The profile cut recorded in a run's configuration (`maxLiked=20;disliked=0;…`), or the default.
    public static func profileOptions(of run: RationaleRun) -> ProfileOptions {
        guard let data = run.configJSON.data(using: .utf8),
              let cfg = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let canonical = cfg["profile"] as? String else { return ProfileOptions() }
        var fields: [String: String] = [:]
        for part in canonical.split(separator: ";") {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2 { fields[kv[0]] = kv[1] }
        }
        let maxLiked = fields["maxLiked"].flatMap(Int.init) ?? 20
        let disliked = fields["disliked"].flatMap(Int.init) ?? 0
        return ProfileOptions(maxLiked: maxLiked, includeDisliked: disliked > 0, maxDisliked: max(disliked, 0),
                              dislikeThreshold: fields["dislikeThreshold"].flatMap(Double.init))
    }

    /// Writes a copy of `run` without the rationales whose class is in `drop`, as reasoner
    /// `imported:NAME` (so `validate-rewards --reasoner imported:NAME` reads it). Every user of the
    /// source run is done in the copy, with the rationales that remain (possibly none). Rewriting
    /// the same filter replaces the earlier copy.
    public func writeFiltered(from run: RationaleRun, inputs: [RationaleQualityInput], classes: [[RationaleClass]],
                              drop: Set<RationaleClass>, name: String, rules: String, embeddings: Bool)
        throws -> (run: RationaleRun, kept: Int, dropped: Int) {
        precondition(inputs.count == classes.count)
        let dropList = drop.map(\.rawValue).sorted().joined(separator: ",")
        let identity = RunIdentity(dataset: run.dataset, split: run.split, reasoner: "imported:\(name)", model: run.model,
                                   promptHash: SHA256.hex("filtered|\(run.promptHash)|\(rules)|drop=\(dropList)|embeddings=\(embeddings)"),
                                   mode: run.mode, k: run.k)
        let config = ["source_run": String(run.id), "source_reasoner": run.reasoner, "source_prompt_hash": run.promptHash,
                      "filter": rules, "drop": dropList, "embeddings": String(embeddings)]
        var out = try openRun(identity, config: config)
        if !(try completedUsers(run: out.id)).isEmpty {
            try deleteRun(id: out.id)
            out = try openRun(identity, config: config)
        }
        var rows: [(userID: Int64, texts: [String])] = []
        var kept = 0, dropped = 0
        for (input, cs) in zip(inputs, classes) {
            var texts: [String] = []
            for (t, c) in zip(input.texts, cs) {
                if drop.contains(c) { dropped += 1 } else { texts.append(t); kept += 1 }
            }
            rows.append((input.userID, texts))
        }
        try saveAll(run: out.id, rows)
        return (out, kept, dropped)
    }
}
