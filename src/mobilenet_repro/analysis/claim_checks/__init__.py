"""The checks of individual claims (report/claims.yaml), each reading pipeline output files.

Each check returns (verdict, one sentence of evidence with the numbers it read); the files it
read are recorded beside the verdict. Structural claims read the architecture stage's
graph.csv (every layer with its class, nonlinearity and inputs) and layers.csv; cost claims
layers.csv, separable_ratios.csv and stats.csv; trained claims the runs table and the analysis
tables; `numerics` runs its own few lines of numpy or Keras. A check may return only its
claim type's verdicts (claims.yaml `types`); `fidelity` checks say whether our runs follow a
design statement.
"""

from mobilenet_repro.analysis.claim_checks import (  # noqa: F401 - registers
    costs,
    numerics,
    structure,
    trained,
)
