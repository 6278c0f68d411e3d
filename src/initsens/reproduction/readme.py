"""The reproduction's numbers in README.md and docs/reproduction.md, generated from the committed
tables so that none is copied by hand.

Each ``<!-- reproduction:NAME -->`` block is written by :data:`BLOCKS` [NAME]; :data:`PAGES` says
which blocks each file holds. ``python -m initsens.reproduction.readme`` rewrites them, ``--check``
says which are stale.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from initsens.report.format import fmt
from initsens.reproduction.claims import CLAIMS, NELBO, PRIMARY, RULES_HISTORY, SOURCE, VERDICTS
from initsens.reproduction.nulls import null_counts, with_defaults
from initsens.reproduction.report.sections import NULL_TABLE, null_cell, verdict_in
from initsens.reproduction.studies import ORIGINAL_SCALE

#: A generated block: its name, then anything up to its closing marker (one line, or several).
MARKER = re.compile(
    r"(<!-- reproduction:(?P<name>[\w-]+) -->)(?P<body>.*?)(<!-- /reproduction:(?P=name) -->)", re.S
)
#: The ladder's rung whose runs are the original scale's VanillaVAE and IWAE cells at depth 1,
#: z-score: (c).
RUNG_C = "kl-8850+steps-138"


@dataclass
class Tables:
    """What the report wrote beside itself: the verdicts, every sub-result, the ladder, the permuted
    null, and the verdicts earlier rule versions gave (version -> its claims table).
    """

    claims: pd.DataFrame
    evidence: pd.DataFrame
    ladder: pd.DataFrame
    null: pd.DataFrame
    history: dict[str, pd.DataFrame] = field(default_factory=dict)


def load_tables(folder: Path) -> Tables:
    """The tables under ``folder`` (``reports/reproduction/tables``) and the history beside it."""

    def read(name: str) -> pd.DataFrame:
        return pd.read_parquet(folder / name) if (folder / name).is_file() else pd.DataFrame()

    null = pd.read_csv(folder / NULL_TABLE) if (folder / NULL_TABLE).is_file() else pd.DataFrame()
    history = {
        f.stem.split("-", 1)[1]: pd.read_parquet(f)
        for f in sorted((folder.parent / "history").glob("claims-*.parquet"))
    }
    return Tables(
        read("claims.parquet"), read("evidence.parquet"), read("ladder.parquet"), null, history
    )


def _interval(row: pd.Series) -> str:
    """``estimate [low, high]`` with three significant digits, – where there is no estimate."""
    if pd.isna(row["estimate"]):
        return "–"
    return f"{fmt(row['estimate'], 3)} [{fmt(row['ci_low'], 3)}, {fmt(row['ci_high'], 3)}]"


def _text(value: object) -> str:
    """A text column's value as the tables keep it ('' for missing, written as 'nan' or None)."""
    return "" if value is None or pd.isna(value) or str(value) in ("nan", "None") else str(value)


def _table(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join(
        [
            "| " + " | ".join(header) + " |",
            "|" + " --- |" * len(header),
            *("| " + " | ".join(r) + " |" for r in rows),
        ]
    )


def _protocols(claims: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(claims.loc[claims["kind"] == "protocol", "study"]))


def _verdict(claims: pd.DataFrame, claim: str, study: str, check: str) -> pd.Series | None:
    hit = claims[
        (claims["claim"] == claim)
        & (claims["study"] == study)
        & (claims["check"] == check)
        & (claims["scope"] == SOURCE)
    ]
    return hit.iloc[0] if len(hit) else None


def claims_block(t: Tables) -> str:
    """Each claim's verdict per protocol on its own metric and source's scope, then on val_nelbo."""
    studies = _protocols(t.claims)
    rows = []
    for key, claim in CLAIMS.items():
        cells = []
        for study in studies:
            primary, nelbo = (_verdict(t.claims, key, study, check) for check in (PRIMARY, NELBO))
            if primary is None:
                cells.append("not judged yet (waits for a later phase; see the report)")
                continue
            cells.append(
                str(primary["coverage"])
                + (f" (val_nelbo: {nelbo['coverage']})" if nelbo is not None else "")
            )
        rows.append([f"{key} {claim.text}", *cells])
    return _table(["claim", *studies], rows)


def deciding_block(t: Tables) -> str:
    """Per claim and protocol, the deciding sub-result: its estimate as the claim's statistic
    defines it, the pair that contradicts P2/P3 there, and how many sub-results were judged by rules
    stated before their runs.
    """
    rows = []
    for key in CLAIMS:
        for study in _protocols(t.claims):
            row = _verdict(t.claims, key, study, PRIMARY)
            if row is None:
                continue
            total = sum(int(row[f"n_{v.replace(' ', '_')}"]) for v in VERDICTS)
            after = (
                " (judged after seeing its runs)" if _text(row.get("stated_before")) == "no" else ""
            )
            rows.append(
                [
                    key,
                    study,
                    str(row["verdict"]),
                    f"{_text(row['where']) or '–'}{after}",
                    _interval(row),
                    _text(row.get("contradiction")) or "–",
                    f"{int(row['n_stated_before'])} of {total}",
                ]
            )
    return _table(
        [
            "claim",
            "study",
            "verdict",
            "deciding sub-result",
            "estimate [95% CI]",
            "contradicting pair",
            "sub-results stated before their runs",
        ],
        rows,
    )


def sub_results_block(study: str) -> Callable[[Tables], str]:
    """Every sub-result of ``study`` in its claims' source scope (verdict check): verdict, estimate
    as the claim's statistic defines it, the contradicting pair (P2/P3) and whether its rules were
    stated before its runs.
    """

    def block(t: Tables) -> str:
        e = t.evidence
        sub = e[(e["study"] == study) & (e["check"] == PRIMARY) & (e["scope"] == SOURCE)]
        order = {key: i for i, key in enumerate(CLAIMS)}
        sub = sub.sort_values("claim", key=lambda c: c.map(order), kind="stable")
        rows = [
            [
                str(r["claim"]),
                str(r["where"]),
                str(r["verdict"]),
                _interval(r),
                _text(r.get("contradiction")) or "–",
                _text(r.get("stated_before")) or "–",
            ]
            for _, r in sub.iterrows()
        ]
        return _table(
            [
                "claim",
                "sub-result",
                "verdict",
                "estimate [95% CI]",
                "contradicting pair",
                "rules stated before its runs",
            ],
            rows,
        )

    return block


def ladder_block(t: Tables) -> str:
    """The ladder's rungs: the KL weight and step schedule each trains with, what the runs learned,
    and each claim's verdict.
    """
    rows = [
        [
            f"{r['rung']}: {r['label']}",
            fmt(r["mn_train"], 2),
            str(r["epoch_steps"]),
            fmt(r["median_steps"], 4),
            fmt(r["median_val_kl"], 3),
            fmt(r["median_ari"], 2),
            *(_text(r[f"{k}_shown"]) or "–" for k in CLAIMS),
        ]
        for _, r in t.ladder.iterrows()
    ]
    return _table(
        [
            "rung",
            "M_N",
            "steps/epoch",
            "median steps",
            "median val KL (nats)",
            "median ARI",
            *CLAIMS,
        ],
        rows,
    )


def null_block(t: Tables) -> str:
    """The false contradictions of each claim in each null, per rules version (the one in force
    first) and protocol, with exact 95% intervals, ▲ where significantly above 5% and † where every
    world repeats the verdict the real runs got under that version (as the report's null section).
    """
    if not len(t.null):
        return "_(the null checks have not been run)_"
    counts = null_counts(t.null)
    worlds = with_defaults(t.null)
    runs = worlds.groupby(["rules", "null", "protocol"], sort=False)["runs"].first()
    verdicts = worlds.groupby(["rules", "null", "protocol", "claim"])["verdict"].agg(set)
    judged = {**t.history, RULES_HISTORY[-1].version: t.claims}
    order = [v.version for v in reversed(RULES_HISTORY)]
    rows = []
    for (version, kind, protocol), counted in counts.groupby(
        ["rules", "null", "protocol"], sort=False
    ):
        by_claim = counted.set_index("claim")
        cells = []
        for key in CLAIMS:
            if key not in by_claim.index:
                cells.append("–")
                continue
            real = verdict_in(judged, version, str(protocol), key)
            fixed = verdicts.get((version, kind, protocol, key), set()) == {real}
            cells.append(null_cell(by_claim.loc[key], fixed))
        rows.append(
            [
                version,
                kind,
                str(protocol),
                str(int(runs[(version, kind, protocol)])),
                str(int(counted["worlds"].max())),
                *cells,
            ]
        )
    rank = {v: i for i, v in enumerate(order)}
    rows.sort(key=lambda r: (rank.get(r[0], len(order)), r[1] != "permuted", r[1], r[2]))
    return _table(["rules", "null", "protocol", "runs", "worlds", *CLAIMS], rows)


def history_block(t: Tables) -> str:
    """How many verdict rows the last version before the one in force that judged a committed report
    (its table in ``history/``) gave differently, of those both gave.
    """
    judged = [v.version for v in RULES_HISTORY[:-1] if v.version in t.history]
    before = judged[-1] if judged else RULES_HISTORY[-2].version
    old = t.history.get(before, pd.DataFrame())
    keys = ["claim", "study", "check", "scope"]
    both = old.merge(t.claims, on=keys, suffixes=("_old", "")) if len(old) else old
    changed = int((both["verdict_old"] != both["verdict"]).sum()) if len(both) else 0
    return (
        f"Moving from {before} to {RULES_HISTORY[-1].version} changed {changed} of {len(both)} "
        "verdict rows"
    )


#: Every generated block of the README, by name.
BLOCKS: dict[str, Callable[[Tables], str]] = {
    "claims": claims_block,
    "deciding": deciding_block,
    "original-scale": sub_results_block(ORIGINAL_SCALE),
    "null": null_block,
    "ladder": ladder_block,
    "rung-c": sub_results_block(RUNG_C),
    "history": history_block,
}


#: The files that hold generated blocks (by file name), and the blocks each must hold: README the
#: verdicts, the documentation's page every block. A file not named here must hold every block.
PAGES: dict[str, tuple[str, ...]] = {"README.md": ("claims",), "reproduction.md": tuple(BLOCKS)}
#: The files ``python -m initsens.reproduction.readme`` rewrites when given none, from the
#: repository's root.
DEFAULT_FILES = (Path("README.md"), Path("docs") / "reproduction.md")


def update(text: str, tables: Tables, required: Collection[str] | None = None) -> str:
    """``text`` with every block between markers rewritten from ``tables``; a block on several lines
    keeps its content on lines of its own. Raises ValueError for a marker :data:`BLOCKS` does not
    know or a block of ``required`` (default: every block) missing.
    """
    found = [m.group("name") for m in MARKER.finditer(text)]
    unknown, missing = (
        set(found) - set(BLOCKS),
        set(BLOCKS if required is None else required) - set(found),
    )
    if unknown or missing:
        raise ValueError(f"README blocks: unknown {sorted(unknown)}, missing {sorted(missing)}")

    def fill(m: re.Match) -> str:
        body = BLOCKS[m.group("name")](tables)
        body = f"\n{body}\n" if "\n" in m.group("body") else body
        return m.group(1) + body + m.group(4)

    return MARKER.sub(fill, text)


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or, with ``--check``, check) the generated blocks of README.md and
    docs/reproduction.md (or of the files given).
    """
    parser = argparse.ArgumentParser(
        prog="python -m initsens.reproduction.readme", description=__doc__
    )
    parser.add_argument("files", nargs="*", default=list(DEFAULT_FILES), type=Path)
    parser.add_argument("--tables", default=Path("reports/reproduction/tables"), type=Path)
    parser.add_argument(
        "--check", action="store_true", help="only say whether the blocks are up to date"
    )
    args = parser.parse_args(argv)
    tables = load_tables(args.tables)
    status = 0
    for path in args.files:
        text = path.read_text(encoding="utf-8")
        new = update(text, tables, PAGES.get(path.name))
        if args.check:
            stale = [
                m.group("name")
                for m, n in zip(MARKER.finditer(text), MARKER.finditer(new))
                if m.group(0) != n.group(0)
            ]
            print(f"{path}: " + ("stale: " + ", ".join(stale) if stale else "up to date"))
            status = max(status, 1 if stale else 0)
        elif new != text:
            path.write_text(new, encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main())
