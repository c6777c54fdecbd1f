"""The alerts desk: rules over the fleet's state (rules.py, judge.py), their SQL (queries.py),
and the workflow that raises, resolves and acknowledges alerts (desk.py)."""
