

def test_the_hot_queries_find_their_rows_through_an_index(tmp_path):
    """The tables a month adds to (documents, lines, payments) are never scanned whole by the
    queries a run makes per project or per document."""
    import sqlite3

    from progbill.store import Store, query_plans

    with Store(tmp_path / "progbill.db"):
        pass
    db = sqlite3.connect(tmp_path / "progbill.db")
    plans = query_plans(db)
    for name, plan in plans.items():
        for step in plan.split("; "):
            if step.startswith("SCAN"):
                # only the run's own small temporary table of wanted projects may be scanned
                assert step.startswith("SCAN w"), f"{name}: {plan}"
        assert "USING" in plan, f"{name}: {plan}"
