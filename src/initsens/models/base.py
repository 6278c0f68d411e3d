"""The VAE base class, the loss record every model returns, and the model registry.

A model is an :class:`~initsens.models.networks.Encoder`, a
:class:`~initsens.models.networks.Decoder` and its own objective (:meth:`VAE.objective`). Its own
losses live on different scales, so every model also reports the *common metrics* ``recon_mse``,
``kl`` and ``nelbo``, from the objective's posterior sample, and may report metrics of its own
(:attr:`VAE.extra_metrics`); see the docs' :doc:`Models </guide/models>` page.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, NamedTuple

import torch
from torch import nn

from initsens.errors import InitsensError
from initsens.models.networks import Decoder, Encoder
from initsens.models.objectives import Generators, gaussian_nll, kl_standard_normal, reparameterize
from initsens.registry import Registry

RECON_REDUCTIONS = ("sum", "mean")


class Hyperparameter(NamedTuple):
    """A hyperparameter a model declares: a keyword-only argument of its constructor, ``kind`` its
    annotated type and ``help`` the text of ``Annotated[type, "help"]`` ('' without one).
    """

    name: str
    kind: Any
    default: Any
    help: str = ""


def constructor_hyperparameters(init: Callable[..., Any]) -> tuple[dict[str, Hyperparameter], bool]:
    """The keyword-only arguments of a constructor as hyperparameters, and whether it passes
    ``**kwargs`` on. A type that cannot be resolved (a string annotation naming what the module does
    not hold) is the default's type.
    """
    try:
        hints = typing.get_type_hints(init, include_extras=True)
    except Exception:
        hints = {}
    out, passes_on = {}, False
    for p in inspect.signature(init).parameters.values():
        passes_on |= p.kind is p.VAR_KEYWORD
        if p.kind is not p.KEYWORD_ONLY:
            continue
        hint = hints.get(
            p.name, Any if p.default is p.empty or p.default is None else type(p.default)
        )
        extras = getattr(hint, "__metadata__", ())
        kind = typing.get_args(hint)[0] if extras else hint
        out[p.name] = Hyperparameter(
            p.name, kind, p.default, next((e for e in extras if isinstance(e, str)), "")
        )
    return out, passes_on


#: :meth:`VAE.hyperparameters` of each class asked, read from its constructors once.
_DECLARED: dict[type, dict[str, Hyperparameter]] = {}


def _declared(cls: type) -> dict[str, Hyperparameter]:
    """:meth:`VAE.hyperparameters`, read from the constructors along ``cls``'s MRO the first time it
    is asked.
    """
    if cls not in _DECLARED:
        out: dict[str, Hyperparameter] = {}
        for klass in cls.__mro__:
            if "__init__" in vars(klass):
                declared, passes_on = constructor_hyperparameters(vars(klass)["__init__"])
                out |= {name: h for name, h in declared.items() if name not in out}
                if klass is VAE or not passes_on:
                    break
        _DECLARED[cls] = out
    return _DECLARED[cls]


class Objective(NamedTuple):
    """What :meth:`VAE.objective` returns: the loss averaged over the batch axis, the reconstruction
    from the first posterior sample, and the model's own metrics (batch means, named in
    :attr:`VAE.extra_metrics`).
    """

    loss: torch.Tensor
    x_hat: torch.Tensor
    extra_metrics: Mapping[str, torch.Tensor] = MappingProxyType({})


class LossOutput:
    """Batch means: ``loss`` (the model's objective, differentiable), the detached common metrics
    and the detached metrics of the model's own (``extra_metrics``, keyed as
    :attr:`VAE.extra_metrics`).

    The common metrics are computed from the pass's tensors when first read, so a training step,
    which reads only the loss, does not pay for three more passes over (batch, genes) (~2% of a
    step).
    """

    def __init__(
        self,
        loss: torch.Tensor,
        x: torch.Tensor,
        x_hat: torch.Tensor,
        mu: torch.Tensor,
        logvar: torch.Tensor,
        extra_metrics: Mapping[str, torch.Tensor] | None = None,
    ) -> None:
        self.loss = loss
        self._pass = tuple(t.detach() for t in (x, x_hat, mu, logvar))
        self.extra_metrics = {name: value.detach() for name, value in (extra_metrics or {}).items()}

    @functools.cached_property
    def recon_mse(self) -> torch.Tensor:
        """Reconstruction MSE per gene and sample (the same definition for every model)."""
        x, x_hat, _, _ = self._pass
        return (x - x_hat).pow(2).mean((-2, -1))

    @functools.cached_property
    def kl(self) -> torch.Tensor:
        """KL(q(z|x) || N(0, I)) per sample."""
        _, _, mu, logvar = self._pass
        return kl_standard_normal(mu, logvar).mean(-1)

    @functools.cached_property
    def nelbo(self) -> torch.Tensor:
        """The beta = 1 negative ELBO per sample, unit-variance Gaussian decoder (one definition for
        all models).
        """
        x, x_hat, _, _ = self._pass
        return gaussian_nll(x, x_hat, 1.0).mean(-1) + self.kl


class VAE(nn.Module):
    """Fully connected Gaussian VAE; subclasses define :meth:`objective` and their
    hyperparameters.
    """

    #: One line naming the objective and its paper, shown by ``initsens models``.
    summary: ClassVar[str] = ""
    #: Metrics of the model's own that its objective returns, name -> meaning (recorded per epoch on
    #: the validation split as ``val_<name>`` in the ``metrics`` table;
    #: ``initsens analyze --metric val_<name>``).
    extra_metrics: ClassVar[Mapping[str, str]] = MappingProxyType({})
    #: The fixed variance v of the Gaussian decoder, -log N(x; x_hat, v I).
    obs_var: float = 1.0
    _split_fraction: float | None = None

    def __init__(
        self,
        n_genes: int,
        hidden_dims: Sequence[int] = (512,),
        latent_dim: int = 50,
        activation: str = "leaky_relu",
        *,
        kl_weight: Annotated[float | str, "KL weight beta, or mn (batch size / split size)."] = 1.0,
        recon_reduction: Annotated[
            str,
            "Reconstruction term: sum (Gaussian log-likelihood over genes) or mean "
            "(MSE averaged over genes).",
        ] = "sum",
    ) -> None:
        super().__init__()
        if n_genes < 1 or latent_dim < 1 or not hidden_dims:
            raise InitsensError(
                f"a VAE needs n_genes >= 1, latent_dim >= 1 and at least one hidden layer "
                f"(got {n_genes=}, {latent_dim=}, hidden_dims={list(hidden_dims)})"
            )
        self.n_genes, self.latent_dim = n_genes, latent_dim
        self.hidden_dims = list(hidden_dims)
        self.encoder = Encoder(n_genes, hidden_dims, latent_dim, activation)
        self.decoder = Decoder(n_genes, hidden_dims, latent_dim, activation)
        self.kl_weight, self.recon_reduction = loss_options(kl_weight, recon_reduction)

    @classmethod
    def hyperparameters(cls) -> dict[str, Hyperparameter]:
        """The hyperparameters the model declares, by name: its constructor's keyword-only
        arguments, then, where it passes ``**kwargs`` on, those of the constructor above it, up to
        :class:`VAE`'s own (``kl_weight``: the KL term's weight, or ``"mn"``, batch size / size of
        the split evaluated, set by :meth:`use_split`; ``recon_reduction``: the reconstruction
        summed over genes, or averaged as the original study's code did).
        """
        return dict(_declared(cls))

    @classmethod
    def check(cls, hyperparameters: Mapping[str, object]) -> None:
        """One-line errors for the values in ``hyperparameters`` (a sweep's; the model takes the
        ones it defines) that this model refuses: its constructor's own checks, run on a one-gene
        network on the meta device (no memory, no random draws), so a sweep fails before anything
        trains.
        """
        declared = cls.hyperparameters()
        given: dict[str, Any] = {
            key: value for key, value in hyperparameters.items() if key in declared
        }
        with torch.device("meta"):
            cls(1, (1,), 1, **given)

    @classmethod
    def draws(cls, hyperparameters: Mapping[str, object]) -> int:
        """Posterior samples decoded per input (``hyperparameters``: a sweep's model
        hyperparameters): the decoder's passes per step, which size its activations (the trainers'
        memory budget). One, unless a model says more.
        """
        return 1

    def hidden_linears(self) -> list[nn.Linear]:
        """Linear layers of the encoder's and decoder's hidden stacks (not the heads or output)."""
        stacks = (self.encoder.hidden, self.decoder.hidden)
        return [m for stack in stacks for m in stack if isinstance(m, nn.Linear)]

    def use_split(self, n_samples: int, batch_size: int) -> None:
        """Tell the model the size of the split it is trained or evaluated on (for
        ``kl_weight='mn'``).
        """
        self._split_fraction = batch_size / n_samples

    def kl_factor(self) -> float:
        """The KL term's weight now: ``kl_weight``, or batch size / split size under ``'mn'``."""
        if self.kl_weight != "mn":
            return float(self.kl_weight)
        if self._split_fraction is None:
            raise InitsensError(
                "kl_weight 'mn' needs the split size: call model.use_split(n_samples, batch_size)"
            )
        return self._split_fraction

    def reconstruction(self, x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        """Per-sample reconstruction term: Gaussian NLL summed over genes, or the MSE averaged over
        genes.
        """
        if self.recon_reduction == "mean":
            return (x - x_hat).pow(2).mean(-1)
        return gaussian_nll(x, x_hat, self.obs_var)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance of ``x``."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The reconstruction of latent codes ``z``."""
        return self.decoder(z)

    def sample_and_decode(
        self, mu: torch.Tensor, logvar: torch.Tensor, generator: Generators
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One reparameterized posterior sample z and its reconstruction."""
        z = reparameterize(mu, logvar, generator)
        return z, self.decode(z)

    def objective(
        self, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, generator: Generators
    ) -> Objective:
        """The loss averaged over the batch axis, the reconstruction from the first posterior sample
        and the metrics named in :attr:`extra_metrics`.
        """
        raise NotImplementedError

    def forward(self, x: torch.Tensor, generator: Generators = None) -> LossOutput:
        """The model's own loss on a batch (batch, genes) plus the common metrics, from one pass.

        Leading axes before the batch (an ensemble's members) are kept: each field then has that
        shape.
        """
        mu, logvar = self.encode(x)
        loss, x_hat, extra = self.objective(x, mu, logvar, generator)
        return LossOutput(loss, x, x_hat, mu, logvar, extra)

    @torch.no_grad()
    def embed(
        self, x: torch.Tensor, generator: Generators = None, sample: bool = False
    ) -> torch.Tensor:
        """The latent embedding used for downstream clustering: posterior means, or with ``sample``
        one reparameterized draw per sample (the original study's choice).
        """
        mu, logvar = self.encode(x)
        return reparameterize(mu, logvar, generator) if sample else mu


MODELS: Registry[type[VAE]] = Registry("model")


def loss_options(kl_weight: float | str, recon_reduction: str) -> tuple[float | str, str]:
    """The checked values of :class:`VAE`'s own hyperparameters, or a one-line error naming the one
    refused.
    """
    if not isinstance(kl_weight, str):
        kl_weight = non_negative("kl_weight", kl_weight)
    elif kl_weight != "mn":
        raise InitsensError(f"kl_weight must be a number >= 0 or 'mn' (got {kl_weight!r})")
    if recon_reduction not in RECON_REDUCTIONS:
        raise InitsensError(
            f"recon_reduction must be one of {', '.join(RECON_REDUCTIONS)} (got "
            f"{recon_reduction!r})"
        )
    return kl_weight, recon_reduction


def positive(name: str, value: float) -> float:
    """``value`` if > 0, else a one-line error naming the hyperparameter."""
    if not value > 0:
        raise InitsensError(f"{name} must be > 0 (got {value})")
    return float(value)


def non_negative(name: str, value: float) -> float:
    """``value`` as a float, or a one-line error naming ``name`` when it is negative."""
    if not value >= 0:
        raise InitsensError(f"{name} must be >= 0 (got {value})")
    return float(value)
