"""Learn Kingma's (2013) generative digits model with stochastic MCMC-EM in auxiliary form.

Model (Kingma 2013, "simple generative MNIST model", on scikit-learn's bundled 8x8 digits):
z in R^2 ~ N(0, I); x | z = Bernoulli(sigmoid(W2 tanh(W1 z + b1) + b2)), 64 binary pixels.
The decoder weights are ``pm.Data`` learned by :func:`pymc_auxform.stochastic_em` with
minibatches and persistent per-image chains (NUTS). Writes two PNGs to ``examples/output/``:
the held-out log-likelihood curve (per image, Monte Carlo estimate in auxiliary form) and the
learned 2-D latent manifold (decoder means on a grid through the inverse Gaussian CDF).

Run: ``python examples/digits_em.py`` (about 2-3 minutes on 2 cores), or
``python examples/digits_em.py --iters 3000 --eval-every 250`` for longer training.
"""

from __future__ import annotations

import argparse
import time

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pymc as pm
import pytensor.tensor as pt

from scipy import special, stats
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits

from pymc_auxform import Minibatch, estimate_log_marginal, stochastic_em

OUT = Path(__file__).parent / "output"
PARAMS = ("W1", "b1", "W2", "b2")


def load_binary_digits(n_test: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Binarized 8x8 digits (pixel > 7 of 16), shuffled and split into (train, test)."""
    x = (load_digits().data > 7).astype("float64")
    x = x[np.random.default_rng(seed).permutation(len(x))]
    return x[n_test:], x[:n_test]


def init_decoder(x: np.ndarray, hidden: int = 32, seed: int = 0) -> dict[str, np.ndarray]:
    """Random first layer, small second layer, output bias at the pixel log-odds."""
    rng = np.random.default_rng(seed)
    p = x.mean(axis=0).clip(0.02, 0.98)
    return {
        "W1": rng.normal(0.0, 1.0, size=(2, hidden)),
        "b1": rng.normal(0.0, 0.5, size=hidden),
        "W2": rng.normal(0.0, 0.1, size=(hidden, x.shape[1])),
        "b2": special.logit(p),
    }


def digits_model(x: np.ndarray, theta: dict[str, np.ndarray]) -> pm.Model:
    """The generative model for the images ``x`` (one latent per image), decoder as pm.Data."""
    coords = {"image": np.arange(len(x)), "latent": ["z1", "z2"], "pixel": np.arange(x.shape[1])}
    with pm.Model(coords=coords) as model:
        x_data = pm.Data("x", x, dims=("image", "pixel"))
        w = {name: pm.Data(name, value) for name, value in theta.items()}
        z = pm.Normal("z", 0.0, 1.0, dims=("image", "latent"))
        logits = decoder(z, w)
        pm.Bernoulli("pixels", logit_p=logits, observed=x_data, dims=("image", "pixel"))
    return model


def decoder(z, w):
    """2-layer MLP: works on PyTensor tensors and on NumPy arrays."""
    tanh = pt.tanh if isinstance(z, pt.TensorVariable) else np.tanh
    return tanh(z @ w["W1"] + w["b1"]) @ w["W2"] + w["b2"]


def held_out_loglik(test_model, theta, *, method="prior", n_samples=500, seed=0):
    """Per-image log p(x) on the test images, with its standard error."""
    for name, value in theta.items():
        test_model[name].set_value(value)
    res = estimate_log_marginal(
        test_model,
        method=method,
        n_samples=n_samples,
        random_seed=seed,
        independent_dim="image",
        tune=300,
        posterior_draws=300,
    )
    n = len(res.pointwise)
    return res.estimate / n, res.se / n


def manifold_image(theta, n: int = 15) -> np.ndarray:
    """Decoder means on an n x n grid of Phi^-1(uniform grid), tiled into one image."""
    grid = stats.norm.ppf(np.linspace(0.05, 0.95, n))
    z = np.array([[a, b] for b in grid[::-1] for a in grid])
    means = special.expit(decoder(z, theta)).reshape(n, n, 8, 8)
    return means.transpose(0, 2, 1, 3).reshape(n * 8, n * 8)


def main(iters: int, eval_every: int, batch: int, hidden: int, seed: int) -> None:
    OUT.mkdir(exist_ok=True)
    train, test = load_binary_digits(seed=seed)
    theta0 = init_decoder(train, hidden, seed)
    model = digits_model(train[:batch], theta0)
    test_model = digits_model(test, theta0)
    curve = [(0, *held_out_loglik(test_model, theta0, seed=seed))]
    print(f"iteration 0: held-out log p(x) per image {curve[-1][1]:.2f} +/- {curve[-1][2]:.2f}")

    def evaluate(progress):
        if progress.iteration % eval_every == 0:
            curve.append((progress.iteration, *held_out_loglik(test_model, progress.theta)))
            print(
                f"iteration {progress.iteration}: held-out log p(x) per image "
                f"{curve[-1][1]:.2f} +/- {curve[-1][2]:.2f}"
            )

    t0 = time.perf_counter()
    result = stochastic_em(
        model,
        list(PARAMS),
        n_iter=iters,
        draws_per_iter=4,
        tune=100,
        optimizer="adagrad",
        learning_rate=0.1,
        minibatch=Minibatch(data={"x": train}, batch_size=batch, latents=["z"]),
        callback=evaluate,
        random_seed=seed,
    )
    wall = time.perf_counter() - t0
    # prior MC is reliable in 2-D; the importance estimator's single-mode proposal can miss
    # a second posterior mode of an ambiguous image (measured: it read 0.6 nats/image lower)
    final = held_out_loglik(test_model, result.final, n_samples=4000)
    t = result.timings
    print(
        f"EM: {iters} iterations in {wall:.1f} s (compile {t['compile']:.1f} s, tune "
        f"{t['tune']:.1f} s, E-step {t['e_step'].mean() * 1e3:.1f} ms/iter, M-step "
        f"{t['m_step'].mean() * 1e3:.1f} ms/iter); final held-out log p(x) per image "
        f"(4000 prior draws) {final[0]:.2f} +/- {final[1]:.2f}"
    )
    plot_curve(curve, result, len(train), final)
    plot_manifold(result.final)
    print(f"wrote {OUT / 'digits_em_loglik.png'} and {OUT / 'digits_em_manifold.png'}")


def plot_manifold(theta) -> None:
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.imshow(manifold_image(theta), cmap="gray_r", vmin=0.0, vmax=1.0)
    ax.set_axis_off()
    ax.set_title("Learned 2-D latent manifold: decoder means at Phi^-1(grid)")
    fig.tight_layout()
    fig.savefig(OUT / "digits_em_manifold.png", dpi=120)
    plt.close(fig)


def plot_curve(curve, result, n_train, final) -> None:
    it, ll, se = np.array(curve).T
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(it, ll, yerr=2 * se, marker="o", label="held-out log p(x) (prior MC)")
    k = max(1, len(result.objective) // 50)
    smooth = np.convolve(result.objective / n_train, np.ones(k) / k, mode="valid")
    ax.plot(
        np.arange(k, len(result.objective) + 1),
        smooth,
        alpha=0.6,
        label="EM objective / N (train, complete data)",
    )
    ax.axhline(final[0], color="k", ls=":", label="final held-out (4000 prior draws)")
    ax.set_xlabel("EM iteration")
    ax.set_ylabel("nats per image")
    ax.set_title("Stochastic EM on 8x8 digits (auxiliary form)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "digits_em_loglik.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=500, help="EM iterations")
    parser.add_argument("--eval-every", type=int, default=100, help="held-out evaluation period")
    parser.add_argument("--batch", type=int, default=100, help="images per minibatch")
    parser.add_argument("--hidden", type=int, default=32, help="hidden units of the decoder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    # one BLAS thread: multithreaded BLAS thrashes on a small shared machine (measured: the
    # model's logp+gradient for 300 images took 41 ms with default threads, 3-5 ms with one)
    threadpool_limits(1)
    main(args.iters, args.eval_every, args.batch, args.hidden, args.seed)
