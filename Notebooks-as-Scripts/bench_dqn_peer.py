"""PyTorch peer of `bench-dqn`: the same two-tower double-DQN update on CPU.

Q(s, a) = phi(s) . psi(e_a) + b_a with phi an MLP (state -> hidden... -> tower), psi a linear map of
the item embedding, the state rebuilt from item indices (mean of the last N embeddings, the last
one, the fraction of the session left), double-DQN targets over the full masked catalog, Huber
loss, global-norm gradient clipping, Adam. The target network's catalog tower is cached between
hard copies, as the Swift agent does. Prints one JSON line.

    python bench_dqn_peer.py --items 1682 --dim 384 --hidden 256,256 --tower 64 --batch 64 --updates 300 --threads 2
"""
import argparse, json, time

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=1682)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--history", type=int, default=10)
    ap.add_argument("--episode", type=int, default=10)
    ap.add_argument("--hidden", default="256,256")
    ap.add_argument("--tower", type=int, default=64)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--updates", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--replay", type=int, default=10000)
    ap.add_argument("--users", type=int, default=943)
    ap.add_argument("--consumed", type=int, default=60)
    a = ap.parse_args()
    try:
        import torch
    except ImportError:
        print(json.dumps({"peer": "not installed"}))
        return
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    g = torch.Generator().manual_seed(1)
    N, d, H, T, B = a.items, a.dim, a.history, a.episode, a.batch
    E = torch.nn.functional.normalize(torch.randn(N, d, generator=g), dim=1)
    state_size = 2 * d + 1
    hidden = [int(x) for x in a.hidden.split(",") if x]

    class QNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            sizes = [state_size] + hidden + [a.tower]
            layers = []
            for i in range(len(sizes) - 1):
                layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
                if i < len(sizes) - 2:
                    layers.append(torch.nn.ReLU())
            self.phi = torch.nn.Sequential(*layers)
            self.psi = torch.nn.Linear(d, a.tower)
            self.bias = torch.nn.Parameter(torch.zeros(N))

    online, target = QNet(), QNet()
    target.load_state_dict(online.state_dict())
    opt = torch.optim.Adam(online.parameters(), lr=1e-3)

    # Replay buffer of indices, like the Swift agent's.
    R = a.replay
    users = torch.randint(0, a.users, (R,), generator=g)
    before = torch.randint(0, N, (R, H), generator=g)
    after = torch.randint(0, N, (R, H), generator=g)
    steps = torch.randint(0, T, (R,), generator=g)
    actions = torch.randint(0, N, (R,), generator=g)
    rewards = torch.rand(R, generator=g)
    discounts = (torch.rand(R, generator=g) > 0.3).float() * 0.9 ** 3
    recommended = torch.randint(0, N, (R, T), generator=g)
    consumed = torch.randint(0, N, (a.users, a.consumed), generator=g)

    def features(hist, step):
        emb = E[hist]  # B x H x d
        return torch.cat([emb.mean(1), emb[:, -1], ((T - step).float() / T).unsqueeze(1)], dim=1)

    with torch.no_grad():
        target_catalog = target.psi(E)

    def update():
        idx = torch.randint(0, R, (B,), generator=g)
        u = users[idx]
        s, s2 = features(before[idx], steps[idx]), features(after[idx], steps[idx] + 1)
        with torch.no_grad():
            online_catalog = online.psi(E)
            q_sel = online.phi(s2) @ online_catalog.T + online.bias
            mask = torch.zeros(B, N, dtype=torch.bool)
            mask.scatter_(1, consumed[u], True)
            mask.scatter_(1, recommended[idx], True)
            q_sel = q_sel.masked_fill(mask, float("-inf"))
            a_star = q_sel.argmax(1)
            q_t = (target.phi(s2) * target_catalog[a_star]).sum(1) + target.bias[a_star]
            y = rewards[idx] + discounts[idx] * q_t
        act = actions[idx]
        q = (online.phi(s) * online.psi(E[act])).sum(1) + online.bias[act]
        loss = torch.nn.functional.huber_loss(q, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(online.parameters(), 10.0)
        opt.step()
        return loss

    for _ in range(a.warmup):
        update()
    t0 = time.perf_counter()
    for _ in range(a.updates):
        update()
    dt = time.perf_counter() - t0
    print(json.dumps({"peer": "pytorch", "torch": torch.__version__, "threads": a.threads,
                      "updates_per_s": a.updates / dt, "ms_per_update": 1000 * dt / a.updates}))

if __name__ == "__main__":
    main()
