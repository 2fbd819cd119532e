"""The doctor's findings: stable codes, their order of seriousness, and what a cause explains.

A finding names a *cause*; the consequences it explains are folded into it (raw pixels saturate the
sigmoid, which zeroes the gradient: one finding, ``input-scale``). Its text is a template over the
measured numbers (``_doctor_text``), so the report can be translated without touching the checks.
"""
from dataclasses import dataclass, field

#: Most serious first: the first finding of a report is the cause to fix first.
ORDER = ("labels", "labels-shuffled", "input-scale", "softmax-axis", "overflow", "loss-not-averaged", "predict-random",
         "nan-gradient", "backprop-shape", "backprop-transpose", "backprop-sign", "backprop-scale",
         "zero-gradient", "backprop-mismatch", "numgrad-no-effect", "numgrad-first-axis", "numgrad-mismatch",
         "update-lost", "update-sign", "learning-rate", "init-symmetric", "init-scale", "dead-units",
         "saturation", "divergence", "no-learning", "dead-guard")
#: 0 = learning cannot work, 1 = learning is crippled, 2 = worth fixing.
SEVERITY = {code: 0 for code in ORDER}
SEVERITY.update({"init-scale": 1, "dead-units": 1, "saturation": 1, "overflow": 1, "numgrad-mismatch": 1,
                 "numgrad-first-axis": 1, "numgrad-no-effect": 1, "dead-guard": 2,
                 "predict-random": 1})

_GRADIENT = {"backprop-shape", "backprop-transpose", "backprop-sign", "backprop-scale", "backprop-mismatch",
             "zero-gradient", "nan-gradient"}
_DYNAMICS = {"learning-rate", "divergence", "no-learning", "dead-units", "saturation", "init-scale"}
#: A cause hides the findings it explains.
EXPLAINS = {
    "labels": _GRADIENT | _DYNAMICS | {"softmax-axis", "loss-not-averaged", "labels-shuffled", "overflow",
                                       "numgrad-mismatch"},
    "labels-shuffled": {"no-learning", "divergence"},
    "input-scale": _DYNAMICS | {"overflow", "zero-gradient", "nan-gradient"},
    "softmax-axis": _GRADIENT | _DYNAMICS,
    "overflow": {"nan-gradient", "divergence", "no-learning"},
    "loss-not-averaged": {"backprop-scale", "learning-rate", "divergence", "init-scale"},
    "nan-gradient": _DYNAMICS,
    "predict-random": {"divergence", "no-learning"},
    "backprop-shape": _DYNAMICS | {"zero-gradient", "nan-gradient"},
    "backprop-transpose": _DYNAMICS,
    "backprop-sign": _DYNAMICS | {"update-sign"},
    "backprop-scale": _DYNAMICS,
    "zero-gradient": _DYNAMICS,
    "backprop-mismatch": _DYNAMICS | {"zero-gradient"},
    "numgrad-no-effect": _DYNAMICS | {"update-lost", "numgrad-mismatch"},
    "numgrad-first-axis": _DYNAMICS | {"numgrad-mismatch"},
    "numgrad-mismatch": _DYNAMICS,
    "update-lost": {"no-learning", "learning-rate", "dead-units", "saturation"},
    "update-sign": {"divergence", "no-learning", "learning-rate", "dead-units", "saturation"},
    "learning-rate": {"divergence", "no-learning", "dead-units", "saturation"},
    "init-symmetric": {"no-learning", "init-scale", "saturation", "dead-units", "zero-gradient"},
    "init-scale": {"saturation", "dead-units", "no-learning", "zero-gradient", "learning-rate"},
    "dead-units": {"no-learning", "zero-gradient"},
    "saturation": {"no-learning", "zero-gradient"},
}


@dataclass
class Finding:
    """One diagnosis.

    Attributes
    ----------
    code : str
        Stable code (see ``ORDER``).
    param : str or None
        The learner's own key of the parameter the bug is in, when it is tied to one.
    measured : dict
        The numbers behind it (JSON-friendly); the message templates format them.
    template : str
        Key of the message template (default: the code).
    """
    code: str
    param: object = None
    measured: dict = field(default_factory=dict)
    template: str = ""
    explains: list = field(default_factory=list)

    def __post_init__(self):
        self.template = self.template or self.code

    @property
    def severity(self):
        return SEVERITY.get(self.code, 2)

    def parts(self, lang="en"):
        """(message, why, fix) in lang."""
        from ._doctor_text import render
        return render(self, lang)

    @property
    def message(self):
        return self.parts()[0]

    @property
    def why(self):
        return self.parts()[1]

    @property
    def fix(self):
        return self.parts()[2]

    def text(self, lang="en"):
        from ._doctor_text import finding_text
        return finding_text(self, lang)

    def __str__(self):
        return self.text("en")

    def to_dict(self, lang="en"):
        message, why, fix = self.parts(lang)
        return {"code": self.code, "severity": self.severity, "param": self.param, "measured": self.measured,
                "message": message, "why": why, "fix": fix, "explains": list(self.explains),
                "template": self.template}


def rank(findings):
    """Keep the causes: drop findings another finding explains (folding them in), most serious first.

    Of two findings with the same code, the first one made is kept.
    """
    seen, unique = set(), []
    for f in findings:
        if f is not None and f.code not in seen:
            seen.add(f.code)
            unique.append(f)
    codes = {f.code for f in unique}
    kept = []
    for f in unique:
        if any(f.code in EXPLAINS.get(c, ()) and not (c in EXPLAINS.get(f.code, ()) and _before(f.code, c))
               for c in codes if c != f.code):
            continue
        kept.append(f)
    kept.sort(key=lambda f: ORDER.index(f.code) if f.code in ORDER else len(ORDER))
    hidden = codes - {k.code for k in kept}
    for f in kept:  # each hidden consequence is folded into the most serious cause that explains it
        f.explains = sorted(EXPLAINS.get(f.code, set()) & hidden)
        hidden -= set(f.explains)
    return kept


def _before(a, b):
    return ORDER.index(a) < ORDER.index(b) if a in ORDER and b in ORDER else False
