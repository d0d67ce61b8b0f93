// The supervised head of SQN (Xin et al., "Self-Supervised Reinforcement Learning for Recommender
// Systems", SIGIR 2020), beside the Q head:
//
//   logits(s, ·) = φ(s)·ψ_s(e_·) + b_s        (φ shared with the Q head, ψ_s and b_s its own)
//   loss_s = λ · CE(softmax(logits(s_t)), i_{t+1})  on the users' logged training sequences
//
// The Q head learns from rewards through TD; the supervised head learns which item a user takes
// next from the training split's consumption order (never a rating, never held-out data). Both
// losses flow into the shared state tower, so pretraining with an intrinsic reward shapes the
// representation the supervised head ranks with. As in SQN, recommendations (evaluation) come from
// the supervised head; the agent still explores and acts ε-greedily on Q while training.

import Foundation
import RecNN
import RecNumerics

extension DQNAgent {
    /// ψ_s over the catalog (items × width) for the current online parameters.
    mutating func ensureSupervisedCatalog() {
        guard supervisedCatalog == nil, let head = network.supervisedItemTower else { return }
        // One linear layer: its output is all its activations, which the backward pass reads.
        supervisedCatalog = QNetwork.output(of: head, over: featurizer.embeddings, parameters: online)
    }

    /// The supervised head's logits over the catalog in one state (what SQN recommends with).
    public mutating func supervisedScores(user: Int, step: Int, history: [Int32], achieved: UInt32 = 0) -> [Float]? {
        guard let bias = network.supervisedBias else { return nil }
        ensureSupervisedCatalog()
        let phi = stateOutput(user: user, step: step, history: history, achieved: achieved)
        let n = network.items, k = network.width
        var logits = Array(online.values[bias.offset..<(bias.offset + n)])
        supervisedCatalog!.withUnsafeBufferPointer { c in
            phi.withUnsafeBufferPointer { f in
                logits.withUnsafeMutableBufferPointer { q in
                    Kernels.sgemm(transA: false, transB: true, m: 1, n: n, k: k, alpha: 1, a: f.baseAddress!, lda: k,
                                  b: c.baseAddress!, ldb: k, beta: 1, c: q.baseAddress!, ldc: n)
                }
            }
        }
        return logits
    }

    /// A minibatch of logged examples from a user of `supervisedUsers` (``SupervisedExamples``):
    /// `next`: a position t ≥ 1 of their training history, the state at the start of a session
    /// whose history is the N items before t, and the item at t; `bag`: any training item t, the
    /// state whose history is the N most recent other training items, and the item t.
    mutating func sampleSupervisedExamples(into states: inout [Float]) -> [Int] {
        let bsz = configuration.supervisedBatch, hl = configuration.historyLength, size = featurizer.size
        let bag = configuration.supervisedExamples == .bag
        var targets = [Int](repeating: 0, count: bsz)
        for b in 0..<bsz {
            let u = supervisedUsers[rng.nextIndex(supervisedUsers.count)]
            let h = consumed[u]
            let t = bag ? rng.nextIndex(h.count) : 1 + rng.nextIndex(h.count - 1)
            let prefix = bag ? Self.mostRecent(hl, of: h, skipping: t) : Array(h[max(0, t - hl)..<t])
            let padded = [Int32](repeating: -1, count: hl - prefix.count) + prefix
            padded.withUnsafeBufferPointer { hp in
                states.withUnsafeMutableBufferPointer { featurizer.write(user: u, step: 0, history: hp, into: $0.baseAddress! + b * size) }
            }
            targets[b] = Int(h[t])
        }
        return targets
    }

    /// The last `n` entries of `history` other than position `skipped`, oldest first.
    static func mostRecent(_ n: Int, of history: [Int32], skipping skipped: Int) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(n)
        var i = history.count - 1
        while i >= 0 && out.count < n {
            if i != skipped { out.append(history[i]) }
            i -= 1
        }
        return out.reversed()
    }

    /// Adds λ·∇ of the supervised cross-entropy to `online.gradients` (after the TD gradient) and
    /// returns the mean cross-entropy; nil without a head or without users to learn from.
    mutating func supervisedLossAndGradients(weight: Float) -> Double? {
        guard let head = network.supervisedItemTower, let bias = network.supervisedBias, !supervisedUsers.isEmpty else { return nil }
        ensureSupervisedCatalog()
        let bsz = configuration.supervisedBatch, n = network.items, k = network.width, phi = network.stateTower
        var states = [Float](repeating: 0, count: bsz * featurizer.size)
        let targets = sampleSupervisedExamples(into: &states)
        var activations = [Float](repeating: 0, count: phi.activationCount(rows: bsz))
        var logits = [Float](repeating: 0, count: bsz * n)
        let phiOffset = phi.activationOffset(layer: phi.layers.count - 1, rows: bsz)
        // Forward: φ on the states, then logits = φ ψ_sᵀ + b_s.
        online.values.withUnsafeBufferPointer { p in
            states.withUnsafeBufferPointer { x in
                activations.withUnsafeMutableBufferPointer { a in
                    phi.forward(x.baseAddress!, rows: bsz, parameters: p.baseAddress!, activations: a.baseAddress!)
                }
            }
            for b in 0..<bsz { logits.replaceSubrange((b * n)..<((b + 1) * n), with: p[bias.offset..<(bias.offset + n)]) }
        }
        activations.withUnsafeBufferPointer { a in
            supervisedCatalog!.withUnsafeBufferPointer { c in
                logits.withUnsafeMutableBufferPointer { q in
                    Kernels.sgemm(transA: false, transB: true, m: bsz, n: n, k: k, alpha: 1, a: a.baseAddress! + phiOffset, lda: k,
                                  b: c.baseAddress!, ldb: k, beta: 1, c: q.baseAddress!, ldc: n)
                }
            }
        }
        // Softmax cross-entropy; the logits become ∂(λ·mean CE)/∂logits = λ (softmax − onehot) / batch.
        var loss = 0.0
        for b in 0..<bsz {
            let row = b * n
            var top = -Float.infinity
            for j in 0..<n { top = max(top, logits[row + j]) }
            let targetLogit = Double(logits[row + targets[b]] - top)
            var sum = 0.0
            for j in 0..<n { let e = Foundation.exp(Double(logits[row + j] - top)); logits[row + j] = Float(e); sum += e }
            loss += Foundation.log(sum) - targetLogit
            let scale = weight / Float(bsz)
            for j in 0..<n { logits[row + j] = Float(Double(logits[row + j]) / sum) * scale }
            logits[row + targets[b]] -= scale
        }
        // Backward: ∂/∂φ = dlogits ψ_s, ∂/∂ψ_s = dlogitsᵀ φ (through the head's one layer), ∂/∂b_s = Σ_rows dlogits.
        var dPhi = [Float](repeating: 0, count: bsz * k), dPsi = [Float](repeating: 0, count: n * k)
        var scratch = [Float](repeating: 0, count: phi.backwardScratchCount(batch: bsz))
        let catalog = supervisedCatalog!, embeddings = featurizer.embeddings
        online.withValuesAndGradients { p, g in
            logits.withUnsafeBufferPointer { dl in
                catalog.withUnsafeBufferPointer { c in
                    activations.withUnsafeBufferPointer { a in
                        Kernels.sgemm(transA: false, transB: false, m: bsz, n: k, k: n, alpha: 1, a: dl.baseAddress!, lda: n,
                                      b: c.baseAddress!, ldb: k, beta: 0, c: &dPhi, ldc: k)
                        Kernels.sgemm(transA: true, transB: false, m: n, n: k, k: bsz, alpha: 1, a: dl.baseAddress!, lda: n,
                                      b: a.baseAddress! + phiOffset, ldb: k, beta: 0, c: &dPsi, ldc: k)
                    }
                }
                for b in 0..<bsz { VectorKernels.add(dl.baseAddress! + b * n, into: g + bias.offset, count: n) }
            }
            states.withUnsafeBufferPointer { x in
                activations.withUnsafeBufferPointer { a in
                    phi.backward(input: x.baseAddress!, activations: a.baseAddress!, rows: bsz, batch: bsz, outputGradient: &dPhi,
                                 parameters: p, gradients: g, scratch: &scratch)
                }
            }
            embeddings.storage.withUnsafeBufferPointer { e in
                catalog.withUnsafeBufferPointer { c in
                    head.backward(input: e.baseAddress!, activations: c.baseAddress!, rows: n, batch: n, outputGradient: &dPsi,
                                  parameters: p, gradients: g, scratch: &scratch)
                }
            }
        }
        return loss / Double(bsz)
    }
}
