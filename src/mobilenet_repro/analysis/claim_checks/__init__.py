"""The check kinds that claims of report/claims.yaml name in their `check:` blocks.

Each kind reads pipeline output files and returns a `Finding`: an outcome and structured
values (numbers, counts, lists), never prose; the files it read are recorded beside the
verdict. Structural kinds read the architecture stage's graph.csv (every layer with its
class, nonlinearity and inputs) and layers.csv; cost kinds layers.csv, separable_ratios.csv
and stats.csv; trained kinds the runs table, the histories and the analysis tables;
`numeric_experiment` runs its own few lines of numpy or Keras. A kind may give only its
claim type's verdicts (claims.yaml `types`); fidelity kinds (`recipe`, `plan_question`) say
whether our runs follow a design statement.
"""

from mobilenet_repro.analysis.claim_checks import (  # noqa: F401 - registers
    costs,
    numerics,
    structure,
    trained,
)
