"""Blue/green rebuilds: same rows, same table definitions, nothing lost to concurrent writes."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from pcem.projections.people_and_dates import PeopleAndDatesProjection
from pcem.projector import shadow
from pcem.projector.batches import ProjectionFailure
from pcem.projector.rebuild import Rebuild
from pcem.projector.runner import ProjectionRunner
from pcem.projector.shadow import ShadowError
from pcem.projector.verify import Verification
from pcem.settings import Settings
from tests.integration.projection_helpers import Database, running
from tests.polling import wait_until

TABLES = ("people", "relationships")


@pytest.fixture
def db(isolated: Settings) -> Iterator[Database]:
    database = Database(isolated)
    yield database
    database.close()


def rebuild(db: Database, batch_size: int = 2000) -> bool:
    projection = PeopleAndDatesProjection()
    return Rebuild(projection, db.engine, db.app.mapper, batch_size=batch_size).run(
        threading.Event()
    )


def catch_up(db: Database) -> None:
    ProjectionRunner(
        projection=PeopleAndDatesProjection(), engine=db.engine, app=db.app, listen_dsn=""
    ).catch_up()


def definition(db: Database) -> dict[str, object]:
    with db.engine.connect() as conn:
        return shadow.signature(conn, "public", TABLES)


def test_a_rebuild_reproduces_the_same_rows_and_table_definitions(db: Database) -> None:
    db.write_history("u1", 60)
    catch_up(db)
    rows, tables = db.checksums(*TABLES), definition(db)

    assert rebuild(db, batch_size=100)

    assert db.checksums(*TABLES) == rows
    assert definition(db) == tables
    assert db.position("people_and_dates") == db.head()
    assert db.tracking("people_and_dates@rebuild") is None
    assert not {s for s in db.schemas() if s.startswith(("rebuild_", "retired_"))}


def test_grants_policies_and_triggers_survive_a_rebuild(db: Database) -> None:
    role = f"pcem_reader_{db.scalar('SELECT substr(md5(random()::text), 1, 8)')}"
    db.execute(f"CREATE ROLE {role}")
    try:
        db.execute(
            f"GRANT SELECT ON people TO {role};"
            " ALTER TABLE people ENABLE ROW LEVEL SECURITY;"
            f" CREATE POLICY own_rows ON people FOR SELECT TO {role}"
            " USING (user_id = current_setting('pcem.user_id', true));"
            " CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RETURN NEW; END $$;"
            " CREATE TRIGGER touch BEFORE UPDATE ON people FOR EACH ROW EXECUTE FUNCTION touch()"
        )
        db.write_history("u1", 5)
        before = definition(db)

        assert rebuild(db)

        assert definition(db) == before
        assert before["people"]["policies"] and before["people"]["grants"]  # type: ignore[index]
    finally:
        db.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_a_column_statistics_target_survives_a_rebuild(db: Database) -> None:
    """Migration 0119 samples search_text finely so that a common word's search walks
    the order index; a rebuild that dropped it would bring the slow plan back."""
    target = "SELECT attstattarget FROM pg_attribute WHERE attrelid = 'people'::regclass"
    before = db.scalar(f"{target} AND attname = 'search_text'")
    db.write_history("u1", 5)

    assert rebuild(db)

    assert before == 1000
    assert db.scalar(f"{target} AND attname = 'search_text'") == 1000
    assert db.scalar(f"{target} AND attname = 'first_name'") == -1  # the default stays default


def test_a_rebuild_while_writes_continue_ends_identical_to_a_clean_build(db: Database) -> None:
    db.write_history("before", 30)
    writer = threading.Thread(target=db.write_history, args=("during", 100))
    with running(db, PeopleAndDatesProjection()):
        writer.start()
        wait_until(
            lambda: db.scalar("SELECT count(*) FROM people WHERE user_id = 'during'"),
            30,
            "writes to be under way",
        )

        assert rebuild(db, batch_size=50)
        assert writer.is_alive(), "the rebuild should finish while writes go on"

        writer.join()
        wait_until(lambda: db.position("people_and_dates") == db.head(), 30, "the live runner")

    result = Verification(PeopleAndDatesProjection(), db.engine, db.app.mapper).run(
        threading.Event(), lambda position, head: None
    )
    assert result is not None and result.identical
    assert db.scalar("SELECT count(*) FROM people") == 130


def test_a_rebuild_left_behind_by_an_older_table_definition_starts_again(db: Database) -> None:
    db.write_history("u1", 10)
    stale = Rebuild(PeopleAndDatesProjection(), db.engine, db.app.mapper, batch_size=10)
    stale.prepare()
    stale.build(threading.Event())
    db.execute("ALTER TABLE people ADD COLUMN nickname text")  # a migration meanwhile

    assert rebuild(db)

    assert db.scalar("SELECT count(nickname) FROM people") == 0
    assert db.scalar("SELECT count(*) FROM people") == 10


def test_tables_referenced_from_outside_the_projection_are_not_rebuilt(db: Database) -> None:
    db.execute("CREATE TABLE notes (person_id uuid REFERENCES people (id))")

    with pytest.raises(ShadowError, match="notes"):
        rebuild(db)


def test_tables_read_by_a_view_are_not_rebuilt_and_stay_as_they_were(db: Database) -> None:
    db.write_history("u1", 5)
    catch_up(db)
    before = db.checksums(*TABLES)
    db.execute("CREATE VIEW people_names AS SELECT first_name FROM people")

    with pytest.raises(ShadowError, match="people_names"):
        rebuild(db)

    assert db.checksums(*TABLES) == before
    assert db.scalar("SELECT count(*) FROM people_names") == 5


def test_a_poisoned_event_fails_the_rebuild_at_its_position_until_fixed(db: Database) -> None:
    db.execute(
        "CREATE FUNCTION reject_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF NEW.first_name = 'Poison' THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW;"
        " END $$; CREATE TRIGGER reject_poison BEFORE INSERT ON people"
        " FOR EACH ROW EXECUTE FUNCTION reject_poison()"
    )
    db.create_person("Ada")
    poison = db.create_person("Poison")
    db.create_person("Grace")

    with pytest.raises(ProjectionFailure):
        rebuild(db)
    row = db.tracking("people_and_dates@rebuild")
    assert (row.state, row.failed_position, row.position) == ("failed", poison, poison - 1)

    db.execute("DROP TRIGGER reject_poison ON people")
    assert rebuild(db)
    assert db.scalar("SELECT count(*) FROM people") == 3
