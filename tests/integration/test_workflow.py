"""The workflow use cases against a real (migrated) database: states, dependencies, events, SMS, locking."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.db import transaction
from portal.domain import status as st
from portal.models import Application, Event, Notification
from portal.services import notifications
from portal.services import workflow as wf
from portal.services.events import Actor
from tests.integration.factories import new_application, staff, tasks_by_matter


def _accept(db, app_id: int) -> None:  # type: ignore[no-untyped-def]
    with transaction(db) as s:
        app = s.get(Application, app_id)
        wf.accept(s, app_id, app.version, staff(s, "clerk"))


def _messages(s, app_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    return list(s.scalars(select(Notification.body).where(Notification.application_id == app_id).order_by(Notification.id)))


def test_accept_starts_tasks_without_unmet_dependencies(db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    _accept(db, app_id)
    with db() as s:
        app = s.get(Application, app_id)
        assert app.status == "accepted" and app.accepted_at is not None
        tasks = tasks_by_matter(s, app_id)
        assert tasks["medical"].status == "pending"
        assert tasks["pension"].status == "waiting"  # 注2: waits for 医保清算
        assert tasks["certificate"].status == "pending"  # automatic for a hospital death
        assert all(t.deadline is not None for t in tasks.values())
        event = s.scalar(select(Event).where(Event.tag == "staff:application:accept"))
        assert event.public and event.actor_name == "黄丽华" and event.before["status"] == "submitted"
        msgs = _messages(s, app_id)
        assert len(msgs) == 1 and "已受理" in msgs[0] and app.number in msgs[0]
        label = st.family_task_label("waiting", app_status="accepted", waiting_on=[wf.matter_name("medical")])
        assert label.text == "暂不能开始（等待：医疗保险个人账户清算）"


def test_waiting_task_cannot_be_completed_until_prerequisite_done(db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    _accept(db, app_id)
    with transaction(db) as s:
        pension = tasks_by_matter(s, app_id)["pension"]
        with pytest.raises(wf.WorkflowError, match="医疗保险个人账户清算"):
            wf.complete_task(s, pension.id, pension.version, staff(s, "officer-renshe"),
                             {"funeral_grant": "100", "lump_sum": "100"})
        with pytest.raises(wf.WorkflowError):
            wf.take_task(s, pension.id, pension.version, staff(s, "officer-renshe"))
    with transaction(db) as s:
        med = tasks_by_matter(s, app_id)["medical"]
        wf.complete_task(s, med.id, med.version, staff(s, "officer-yibao"), {"settlement_amount": "-320.50"})
    with db() as s:
        pension = tasks_by_matter(s, app_id)["pension"]
        assert pension.status == "pending" and pension.deadline is not None
        assert s.scalar(select(Event).where(Event.tag == "system:task:ready", Event.task_id == pension.id))


def test_negative_medical_settlement_is_deducted_from_the_payout(db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    _accept(db, app_id)
    with transaction(db) as s:
        med = tasks_by_matter(s, app_id)["medical"]
        wf.complete_task(s, med.id, med.version, staff(s, "officer-yibao"), {"settlement_amount": "-320.50"})
    with transaction(db) as s:
        pension = tasks_by_matter(s, app_id)["pension"]
        from portal.services.case_views import staff_task

        view = staff_task(s, pension)
        assert view.medical_settlement == Decimal("-320.50") and view.medical_deduction == Decimal("320.50")
        wf.take_task(s, pension.id, pension.version, staff(s, "officer-renshe"))
        wf.complete_task(s, pension.id, pension.version, staff(s, "officer-renshe"),
                         {"funeral_grant": "12,896", "lump_sum": "58032.00"})
    with db() as s:
        pension = tasks_by_matter(s, app_id)["pension"]
        assert pension.result["medical_deduction"] == "320.50"
        assert pension.result["net_paid"] == "70607.50"
        assert Decimal(str(pension.amount)) == Decimal("70607.50")
        summary = st.result_summary("pension", pension.result)
        assert "扣回医保 320.50 元" in summary and "实发 70,607.50 元" in summary
        assert any("扣回" in m for m in _messages(s, app_id))


def test_result_fields_are_validated(db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    _accept(db, app_id)
    with transaction(db) as s:
        tasks = tasks_by_matter(s, app_id)
        with pytest.raises(wf.Invalid) as err:
            wf.complete_task(s, tasks["medical"].id, tasks["medical"].version, staff(s, "officer-yibao"),
                             {"settlement_amount": "abc"})
        assert "settlement_amount" in err.value.errors
        future = (wf.today() + timedelta(days=3)).isoformat()
        with pytest.raises(wf.Invalid) as err:
            wf.complete_task(s, tasks["hukou"].id, tasks["hukou"].version, staff(s, "officer-gongan"),
                             {"cancelled_on": future})
        assert "cancelled_on" in err.value.errors
    with db() as s:
        assert tasks_by_matter(s, app_id)["medical"].status == "pending"


def test_every_action_writes_an_event_and_the_right_message(db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault, matters={"cremation", "hukou"}, scenario="unnatural")
    _accept(db, app_id)
    with transaction(db) as s:
        t = tasks_by_matter(s, app_id)
        wf.take_task(s, t["hukou"].id, t["hukou"].version, staff(s, "officer-gongan"))
        wf.return_task(s, t["hukou"].id, t["hukou"].version, staff(s, "officer-gongan"),
                       "死亡证明编号有误", "certificate")
    with transaction(db) as s:
        t = tasks_by_matter(s, app_id)
        assert t["hukou"].result["correction_step"] == "certificate"
        wf.refuse_task(s, t["cremation"].id, t["cremation"].version, staff(s, "officer-binyiguan"), "已在外地火化")
    with transaction(db) as s:
        app = s.get(Application, app_id)
        resumed = wf.resume_after_correction(s, app, Actor("citizen", app.account_id, "陈建国"))
        assert [r.matter_code for r in resumed] == ["hukou"]
    with transaction(db) as s:
        t = tasks_by_matter(s, app_id)
        assert t["hukou"].status == "pending" and t["cremation"].status == "refused"
        wf.complete_task(s, t["hukou"].id, t["hukou"].version, staff(s, "officer-gongan"),
                         {"cancelled_on": wf.today().isoformat()})
    with db() as s:
        app = s.get(Application, app_id)
        assert app.status == "completed" and app.completed_at is not None
        tags = list(s.scalars(select(Event.tag).where(Event.application_id == app_id).order_by(Event.id)))
        assert tags == ["citizen:application:submit", "staff:application:accept", "staff:task:take",
                        "staff:task:return", "staff:task:refuse", "citizen:task:resume", "staff:task:complete",
                        "system:application:complete"]
        msgs = _messages(s, app_id)
        assert len(msgs) == 5
        assert "已受理" in msgs[0]
        assert "需要您补正" in msgs[1] and "死亡证明" in msgs[1]
        assert "不能办理" in msgs[2] and "已在外地火化" in msgs[2]
        assert "已办结" in msgs[3] and "户口已于" in msgs[3]
        assert "所有事项都已办结" in msgs[4]
        assert all(m.startswith("【身后一件事】") for m in msgs)
        # no personal numbers in a text message
        assert not any("33030219620315031X" in m or "19900000001" in m for m in msgs)


def test_window_return_and_resubmit(db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    with transaction(db) as s:
        app = s.get(Application, app_id)
        with pytest.raises(wf.Invalid):
            wf.return_application(s, app_id, app.version, staff(s, "clerk"), " ")
        wf.return_application(s, app_id, app.version, staff(s, "clerk"), "请补充户口簿")
    with transaction(db) as s:
        app = s.get(Application, app_id)
        assert app.status == "returned" and app.return_reason == "请补充户口簿"
        wf.resume_after_correction(s, app, Actor("citizen", app.account_id, "陈建国"))
    with db() as s:
        assert s.get(Application, app_id).status == "submitted"
        assert "补充" in _messages(s, app_id)[0]


def test_stale_version_is_a_conflict_and_nothing_is_overwritten(db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    _accept(db, app_id)
    with db() as s:
        med = tasks_by_matter(s, app_id)["medical"]
        seen = med.version
    with transaction(db) as s:
        wf.complete_task(s, med.id, seen, staff(s, "officer-yibao"), {"settlement_amount": "100.00"})
    with transaction(db) as s:
        with pytest.raises(wf.Conflict, match="刚刚被徐敏修改过"):
            wf.complete_task(s, med.id, seen, staff(s, "officer-yibao"), {"settlement_amount": "-5.00"})
    with db() as s:
        assert tasks_by_matter(s, app_id)["medical"].result["settlement_amount"] == "100.00"


def test_concurrent_write_is_caught_by_the_version_column(db, vault) -> None:  # type: ignore[no-untyped-def]
    """Both sessions pass the form check; the second UPDATE finds the row changed."""
    app_id = new_application(db, vault)
    _accept(db, app_id)
    s1, s2 = db(), db()
    try:
        s1.begin(); s2.begin()
        t1 = tasks_by_matter(s1, app_id)["medical"]
        t2 = tasks_by_matter(s2, app_id)["medical"]
        wf.take_task(s1, t1.id, t1.version, staff(s1, "officer-yibao"))
        s1.commit()
        with pytest.raises(wf.Conflict):
            wf.take_task(s2, t2.id, t2.version, staff(s2, "officer-yibao"))
        s2.rollback()
    finally:
        s1.close(); s2.close()


def test_officers_cannot_touch_other_departments_or_counties(db, vault) -> None:  # type: ignore[no-untyped-def]
    lucheng = new_application(db, vault)
    ruian = new_application(db, vault, citizen="linxiaoyan", county="330381")
    _accept(db, lucheng)
    with transaction(db) as s:
        app = s.get(Application, ruian)
        with pytest.raises(wf.NotFound):  # a 鹿城 clerk cannot accept a 瑞安 application
            wf.accept(s, ruian, app.version, staff(s, "clerk"))
        wf.accept(s, ruian, app.version, staff(s, "clerk-ruian"))
    with transaction(db) as s:
        med = tasks_by_matter(s, lucheng)["medical"]
        with pytest.raises(wf.NotFound):
            wf.take_task(s, med.id, med.version, staff(s, "officer-gongan"))
        hukou_ruian = tasks_by_matter(s, ruian)["hukou"]
        with pytest.raises(wf.NotFound):
            wf.take_task(s, hukou_ruian.id, hukou_ruian.version, staff(s, "officer-gongan"))
        wf.take_task(s, hukou_ruian.id, hukou_ruian.version, staff(s, "officer-gongan-ruian"))


def test_reveal_is_audited_with_a_reason(db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    with transaction(db) as s:
        with pytest.raises(wf.Invalid):
            wf.reveal(s, app_id, staff(s, "clerk"), "applicant_id", "", vault)
        value = wf.reveal(s, app_id, staff(s, "clerk"), "applicant_id", "核对身份", vault)
        assert value == "33030219620315031X"
        with pytest.raises(wf.NotFound):
            wf.reveal(s, app_id, staff(s, "clerk-ruian"), "applicant_id", "核对身份", vault)
    with db() as s:
        event = s.scalar(select(Event).where(Event.tag == "staff:pii:reveal"))
        assert event.public is False and event.after == {"field": "applicant_id", "reason": "核对身份"}
        assert "33030219620315031X" not in event.summary


def test_dev_sender_delivers_the_outbox(db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    _accept(db, app_id)
    sender = notifications.DevSender()
    with transaction(db) as s:
        assert notifications.deliver(s, sender, vault) == 1
    assert sender.sent[0][0] == "19900000001"
    with db() as s:
        assert s.scalar(select(func.count()).select_from(Notification).where(Notification.status == "sent")) == 1


# --- corrections resume only what the family fixed -------------------------------------------------

def _return(db, app_id: int, code: str, who: str, step: str) -> None:  # type: ignore[no-untyped-def]
    with transaction(db) as s:
        t = tasks_by_matter(s, app_id)[code]
        wf.return_task(s, t.id, t.version, staff(s, who), "请补正", step)


def test_resume_only_the_tasks_returned_for_the_corrected_step(db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    _accept(db, app_id)
    _return(db, app_id, "hukou", "officer-gongan", "certificate")
    _return(db, app_id, "medical", "officer-yibao", "recipient")
    with transaction(db) as s:
        app = s.get(Application, app_id)
        resumed = wf.resume_after_correction(s, app, Actor("citizen", app.account_id, "陈建国"), step="certificate")
        assert [r.matter_code for r in resumed] == ["hukou"]
    with db() as s:
        t = tasks_by_matter(s, app_id)
        assert t["hukou"].status == "pending" and t["hukou"].result == {"corrected": "certificate"}
        assert t["medical"].status == "returned" and t["medical"].result["correction_step"] == "recipient"
        assert s.scalar(select(func.count()).select_from(Event).where(Event.tag == "citizen:task:resume")) == 1
    with transaction(db) as s:
        app = s.get(Application, app_id)
        assert wf.resume_after_correction(s, app, Actor("citizen", app.account_id, "陈建国"), step="applicant") == []
        resumed = wf.resume_after_correction(s, app, Actor("citizen", app.account_id, "陈建国"), step="recipient")
        assert [r.matter_code for r in resumed] == ["medical"]


def test_resume_accepts_the_form_step_that_answers_a_correction(db, vault) -> None:  # type: ignore[no-untyped-def]
    """The form asks the date of death on its own screen ("death"); it answers 逝者信息 and 死亡证明."""
    assert st.corrected_steps("death") == {"death", "deceased", "certificate"}
    assert st.corrected_steps("recipient") == {"recipient"}
    app_id = new_application(db, vault)
    _accept(db, app_id)
    _return(db, app_id, "hukou", "officer-gongan", "deceased")
    _return(db, app_id, "medical", "officer-yibao", "recipient")
    with transaction(db) as s:
        app = s.get(Application, app_id)
        resumed = wf.resume_after_correction(s, app, Actor("citizen", app.account_id, "陈建国"), step="death")
        assert [r.matter_code for r in resumed] == ["hukou"]
    with db() as s:
        assert tasks_by_matter(s, app_id)["medical"].status == "returned"


def test_resume_without_a_step_resumes_every_returned_task(db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    _accept(db, app_id)
    _return(db, app_id, "hukou", "officer-gongan", "certificate")
    _return(db, app_id, "medical", "officer-yibao", "recipient")
    with transaction(db) as s:
        app = s.get(Application, app_id)
        resumed = wf.resume_after_correction(s, app, Actor("citizen", app.account_id, "陈建国"))
        assert sorted(r.matter_code for r in resumed) == ["hukou", "medical"]


# --- completion when the last two matters finish at the same time ------------------------------------

def test_finishing_locks_the_application_and_reads_freshtasks_by_matter(db, vault) -> None:  # type: ignore[no-untyped-def]
    """The second officer's session still holds the first one's task as open (loaded earlier);
    the completion check must re-read it under the application's row lock."""
    from sqlalchemy import event

    app_id = new_application(db, vault, matters={"cremation", "hukou"}, scenario="unnatural")
    _accept(db, app_id)
    s1, s2 = db(), db()
    locks: list[str] = []

    def watch(state) -> None:  # type: ignore[no-untyped-def]
        if state.is_select and getattr(state.statement, "_for_update_arg", None) is not None:
            locks.append(str(state.statement.get_final_froms()[0]))

    event.listen(s2, "do_orm_execute", watch)
    try:
        s1.begin(); s2.begin()
        t1 = tasks_by_matter(s1, app_id)
        t2 = tasks_by_matter(s2, app_id)
        assert {t.status for t in s2.get(Application, app_id).tasks} == {"pending"}  # s2 now holds both as open
        wf.complete_task(s1, t1["hukou"].id, t1["hukou"].version, staff(s1, "officer-gongan"),
                         {"cancelled_on": wf.today().isoformat()})
        s1.commit()
        wf.complete_task(s2, t2["cremation"].id, t2["cremation"].version, staff(s2, "officer-binyiguan"), {})
        s2.commit()
        assert locks == ["application"]
    finally:
        s1.close(); s2.close()
    with db() as s:
        app = s.get(Application, app_id)
        assert app.status == "completed"
        assert s.scalar(select(func.count()).select_from(Event).where(
            Event.application_id == app_id, Event.tag == "system:application:complete")) == 1


def test_concurrent_finish_of_the_last_two_tasks_completes_the_application(db, vault, engine) -> None:  # type: ignore[no-untyped-def]
    """Two officers at once (PostgreSQL READ COMMITTED): the second waits for the first's lock."""
    import threading

    from tests.integration.concurrency import blocked_on_a_lock

    if engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL row locks (SQLite serialises writers)")
    app_id = new_application(db, vault, matters={"cremation", "hukou"}, scenario="unnatural")
    _accept(db, app_id)
    s1, s2 = db(), db()
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with s2.begin():
                t = tasks_by_matter(s2, app_id)["cremation"]
                wf.complete_task(s2, t.id, t.version, staff(s2, "officer-binyiguan"), {})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    try:
        s1.begin()
        t = tasks_by_matter(s1, app_id)["hukou"]
        wf.complete_task(s1, t.id, t.version, staff(s1, "officer-gongan"), {"cancelled_on": wf.today().isoformat()})
        assert s1.get(Application, app_id).status == "accepted"  # 殡仪馆 not finished yet, as s1 sees it
        other = threading.Thread(target=second)
        other.start()
        assert blocked_on_a_lock(engine)  # the other officer waits for the row lock held by s1
        assert other.is_alive()
        s1.commit()
        other.join(10)
        assert not other.is_alive() and not errors, errors
    finally:
        s1.close(); s2.close()
    with db() as s:
        assert s.get(Application, app_id).status == "completed"


# --- amounts --------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["1e30", "1E+999999999999999999", "NaN", "Infinity", "10000000000", "1000000000"])
def test_huge_or_non_finite_amounts_are_a_field_error(db, vault, raw: str) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    _accept(db, app_id)
    with transaction(db) as s:
        med = tasks_by_matter(s, app_id)["medical"]
        with pytest.raises(wf.Invalid) as err:
            wf.complete_task(s, med.id, med.version, staff(s, "officer-yibao"), {"settlement_amount": raw})
        assert err.value.errors["settlement_amount"].startswith("医保个人账户清算金额（元）：")


def test_pension_total_must_stay_in_range(db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    _accept(db, app_id)
    with transaction(db) as s:
        med = tasks_by_matter(s, app_id)["medical"]
        wf.complete_task(s, med.id, med.version, staff(s, "officer-yibao"), {"settlement_amount": "0"})
    with transaction(db) as s:
        pension = tasks_by_matter(s, app_id)["pension"]
        with pytest.raises(wf.Invalid) as err:
            wf.complete_task(s, pension.id, pension.version, staff(s, "officer-renshe"),
                             {"funeral_grant": "999999999.99", "lump_sum": "999999999.99"})
        assert "合计金额太大" in err.value.errors["lump_sum"]
    with transaction(db) as s:
        pension = tasks_by_matter(s, app_id)["pension"]
        wf.complete_task(s, pension.id, pension.version, staff(s, "officer-renshe"),
                         {"funeral_grant": "500000000", "lump_sum": "499999999.99"})
    with db() as s:
        assert Decimal(str(tasks_by_matter(s, app_id)["pension"].amount)) == Decimal("999999999.99")


# --- personal numbers: each department sees only what it needs ----------------------------------------

def test_reveal_is_limited_per_department(db, vault) -> None:  # type: ignore[no-untyped-def]
    from portal.services.demo import DEMO_ACCOUNT

    app_id = new_application(db, vault)
    with transaction(db) as s:
        app = s.get(Application, app_id)
        clerk, admin = staff(s, "clerk"), staff(s, "admin")
        gongan, renshe, yibao = staff(s, "officer-gongan"), staff(s, "officer-renshe"), staff(s, "officer-yibao")
        everything = list(wf.REVEALABLE)
        assert wf.revealable(app, clerk) == everything and wf.revealable(app, admin) == everything
        assert wf.revealable(app, gongan) == ["deceased_id", "deceased_certificate", "applicant_id", "applicant_phone"]
        assert wf.revealable(app, renshe) == everything and wf.revealable(app, yibao) == everything
        assert wf.revealable(app, staff(s, "officer-canlian")) == []  # no matter in this application
        assert wf.reveal(s, app_id, gongan, "deceased_id", "核对户籍", vault)
        assert wf.reveal(s, app_id, gongan, "applicant_phone", "联系家属", vault) == "19900000001"
        for field_name in ("recipient_id", "recipient_phone", "recipient_account"):
            with pytest.raises(wf.NotFound):
                wf.reveal(s, app_id, gongan, field_name, "核对账号", vault)
        assert wf.reveal(s, app_id, renshe, "recipient_account", "核对银行账号", vault) == DEMO_ACCOUNT
        assert wf.reveal(s, app_id, clerk, "recipient_account", "核对银行账号", vault) == DEMO_ACCOUNT
    with db() as s:
        fields = [e.after["field"] for e in s.scalars(select(Event).where(Event.tag == "staff:pii:reveal").order_by(Event.id))]
        assert fields == ["deceased_id", "applicant_phone", "recipient_account", "recipient_account"]
