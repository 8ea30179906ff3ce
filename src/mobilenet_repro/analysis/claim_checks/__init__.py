"""The checks of individual claims (claims.yaml), each reading pipeline output files.

Each check returns (verdict, one sentence of evidence with the numbers it read). Structural
claims read results/architectures/graph.csv (every layer with its class, nonlinearity and
inputs) and layers.csv; cost claims layers.csv, separable_ratios.csv and stats.csv; trained
claims runs.csv and the analysis tables. Verdicts follow claims.yaml `verdicts`: a relation
that holds only inside the test-set noise is `partly`, and so is anything shown only on an
analogue (another data set, a miniature).
"""

from mobilenet_repro.analysis.claim_checks import (  # noqa: F401 - registers
    costs,
    numerics,
    structure,
    trained,
)
