

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


def test_documents_are_read_in_issue_order_without_sorting_them(tmp_path):
    """Every sheet and check that lists documents reads them in issue order; an index gives
    that order, so a month's read does not sort the whole history again."""
    import sqlite3

    from progbill.store import Store

    with Store(tmp_path / "progbill.db"):
        pass
    db = sqlite3.connect(tmp_path / "progbill.db")
    order = "ORDER BY invoice_date, run_id, series, fy, seq"
    for sql in (f"SELECT number, amount_due FROM documents {order}",
                f"SELECT * FROM documents WHERE fy = 2026 {order}"):
        plan = "; ".join(str(row[-1]) for row in db.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert "USING INDEX documents_" in plan and "TEMP B-TREE" not in plan, plan


def test_a_store_copy_holds_every_commit_whether_copied_as_a_file_or_page_by_page(tmp_path):
    """``Store.copy_to`` copies the database file once the write-ahead log is checkpointed
    into it; while another connection's read keeps the log from being emptied, it copies
    through SQLite's online backup instead. Either copy holds the last commit and is sound."""
    import sqlite3

    from progbill.store import Store

    with Store(tmp_path / "progbill.db") as store:
        store.set_meta("probe", "one")
        assert store.copy_to(tmp_path / "file-copy.db") == "file"
        reader = sqlite3.connect(tmp_path / "progbill.db", isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT * FROM meta").fetchall()  # holds a snapshot: the log stays
        store.set_meta("probe", "two")
        assert store.copy_to(tmp_path / "page-copy.db") == "pages"  # at once, no waiting
        assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
        reader.execute("COMMIT")
        reader.close()
        # the read transaction of the file copy is over: the store takes writes again
        store.set_meta("probe", "three")
    for name, value in (("file-copy.db", "one"), ("page-copy.db", "two")):
        with Store(tmp_path / name) as copy:
            assert copy.meta_value("probe") == value
            assert copy.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]



def test_a_projects_totals_are_read_from_an_index_not_from_its_documents(tmp_path):
    """The Projects sheet sums each project's documents every run; those figures are in the
    index documents_project_totals, so no document is read (the documents' rows are wide, and
    there are more of them every month)."""
    from progbill.store import PROJECTS_SUMMARY, Store

    with Store(tmp_path / "progbill.db") as store:
        plan = [str(row[-1]) for row in store.db.execute(
            f"EXPLAIN QUERY PLAN {PROJECTS_SUMMARY}")]
    of_documents = [step for step in plan if step.startswith(("SEARCH d", "SCAN d"))]
    assert len(of_documents) == 4, plan
    assert all("USING COVERING INDEX documents_project_totals" in s for s in of_documents), plan
