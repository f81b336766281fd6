"""Erasure of a data subject (SPEC R3, P1; Art. 17): the service the request workflow, the CLI
and the officer's API route call.

One erasure goes through five phases, each idempotent and recorded before the next starts, so a
killed erasure resumes where it stopped and ends in the same state (docs/erasure.md):

1. planned: the ``erasures`` row, with the moment its exemptions are judged at;
2. resealed: every kept value sealed under the subject's key is moved to a successor key
   (``subject:<id>/kept<n>``), so that it stays readable once the subject's key is gone;
3. notified: the person is told what is erased and what is kept and why (the outbox), while
   their address can still be read;
4. shredded: the shred list (outside the database) gets the entry, then the subject's data key
   and earlier successors are destroyed: every copy of the erased values, in the database
   files, the WAL and every backup, is unreadable from here on;
5. completed: the erased rows are purged, in batches; the audit log gets one entry, naming the
   subject by pseudonym.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace

from carprivacy.domain.access import Caller, CallerKind, Role
from carprivacy.domain.audit import AuditRecord
from carprivacy.domain.erasure import (
    ALL,
    ErasureReport,
    ErasureState,
    Exemption,
    Verdict,
    account_owner,
    check_erasure,
    counterparty_kept,
    judge,
    notice_text,
    summarise,
)
from carprivacy.domain.errors import (
    AccessDeniedError,
    CarPrivacyError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from carprivacy.domain.master import subject_owner
from carprivacy.domain.policy import Policy
from carprivacy.services.audit.trail import AuditService, iso
from carprivacy.services.consent.ports import NoticeAddress
from carprivacy.services.erasure.ports import ErasureRecord, ErasureStore, ShredEntry, ShredList
from carprivacy.services.identity.ports import EmailOutbox
from carprivacy.services.ports.clock import Clock
from carprivacy.services.ports.crypto import KeyResealer
from carprivacy.services.retention.ports import LegalHoldRepository

ERASURE_PURPOSE = "erasure"
SUBJECT = {"nl": "Uw verzoek om wissing", "en": "Your request for erasure"}
ERASERS = frozenset({Role.PRIVACY_OFFICER, Role.SERVICE})
PURGE_BATCH = 10_000


class ErasureService:
    def __init__(
        self,
        policy: Policy,
        store: ErasureStore,
        cipher: KeyResealer,
        holds: LegalHoldRepository,
        audit: AuditService,
        outbox: EmailOutbox,
        address: NoticeAddress,
        shred_list: ShredList,
        clock: Clock,
        *,
        purge_batch: int = PURGE_BATCH,
        after_phase: Callable[[ErasureState], None] = lambda state: None,
    ) -> None:
        self.policy = policy
        self.store = store
        self.cipher = cipher
        self.holds = holds
        self.audit = audit
        self.outbox = outbox
        self.address = address
        self.shred_list = shred_list
        self.clock = clock
        self.purge_batch = purge_batch
        self.after_phase = after_phase  # tests stop an erasure here (an interruption)

    # -- the use case -------------------------------------------------------------------------

    def erase(
        self,
        subject_id: str,
        by: Caller,
        reason: str,
        controller: str = ALL,
        *,
        language: str = "nl",
        notify: bool = True,
    ) -> ErasureReport:
        """Erase what the law lets go of the subject's records at ``controller`` (a controller
        id of the policy, or ``all``), keep the rest with its reason, and report both. Staff
        only (the privacy officer, or a service caller such as the request workflow). Calling it
        again resumes an interrupted erasure, or returns the completed one's report."""
        if by.role not in ERASERS:
            raise AccessDeniedError(
                "an erasure is carried out by the privacy officer (Art. 17, 38-39 GDPR)",
                ("erasure.role",),
            )
        problems = check_erasure(reason, controller, (c.id for c in self.policy.controllers))
        if problems:
            raise InvalidInputError(problems)
        earlier = self.store.of_subject(subject_id)
        if not earlier and not self.store.subject_exists(subject_id):
            raise NotFoundError("customer", subject_id)
        for record in reversed(earlier):
            if record.state is ErasureState.COMPLETED and record.controller in (controller, ALL):
                return replace(ErasureReport.from_json(record.report), resumed=True)
        open_ = [r for r in earlier if r.state is not ErasureState.COMPLETED]
        if open_:
            record = open_[-1]
            resumed = True
        else:
            now = self.clock()
            record = ErasureRecord(
                id=str(uuid.uuid4()),
                subject_id=subject_id,
                controller=controller,
                state=ErasureState.PLANNED,
                as_of=now,
                successor=f"{subject_owner(subject_id)}/kept{len(earlier) + 1}",
                requested_by=by.id,
                reason=reason.strip(),
                started_at=now,
                finished_at=None,
                report="",
            )
            try:
                self.store.add(record)
                resumed = False
            except ConflictError:  # another call started one meanwhile: carry that one on
                open_ = [
                    r
                    for r in self.store.of_subject(subject_id)
                    if r.state is not ErasureState.COMPLETED
                ]
                if not open_:
                    raise
                record, resumed = open_[-1], True
                earlier = self.store.of_subject(subject_id)
        return self._run(record, by, earlier, language=language, notify=notify, resumed=resumed)

    def reports(self, subject_id: str) -> list[ErasureReport]:
        return [ErasureReport.from_json(r.report) for r in self.store.of_subject(subject_id)]

    # -- the phases ---------------------------------------------------------------------------

    def judged(self, record: ErasureRecord) -> list[Verdict]:
        subject_ref = self.audit.subject_ref(record.subject_id)
        portions = self.store.portions(record.subject_id, subject_ref, account_owner(self.policy))
        holds = self.holds.list(active_only=True)
        verdicts = [
            judge(self.policy, record.controller, record.subject_id, p, holds, record.as_of)
            for p in portions
        ]
        keeping = counterparty_kept(verdicts)
        out: list[Verdict] = []
        for v in verdicts:
            if v.portion.table == "customers" and not v.kept and keeping is not None:
                p = v.portion
                out.append(
                    Verdict(
                        replace(p, part="name_address"),
                        Exemption.STATUTORY_RETENTION,
                        keeping.detail,
                        keeping.until,
                    )
                )
                out.append(Verdict(replace(p, part="reachability"), None))
            else:
                out.append(v)
        return out

    def _report(
        self, record: ErasureRecord, state: ErasureState, verdicts: list[Verdict], **extra: object
    ) -> ErasureReport:
        erased, kept = summarise(verdicts)
        base = (
            ErasureReport.from_json(record.report)
            if record.report
            else ErasureReport(record.id, record.controller, state.value, iso(record.as_of))
        )
        return replace(base, state=state.value, erased=erased, kept=kept, **extra)  # type: ignore[arg-type]

    def _advance(
        self, record: ErasureRecord, state: ErasureState, report: ErasureReport, final: bool = False
    ) -> ErasureRecord:
        text = report.to_json()
        self.store.advance(record.id, state, text, self.clock() if final else None)
        self.after_phase(state)
        return replace(record, state=state, report=text)

    def _run(
        self,
        record: ErasureRecord,
        by: Caller,
        earlier: list[ErasureRecord],
        *,
        language: str,
        notify: bool,
        resumed: bool,
    ) -> ErasureReport:
        verdicts = self.judged(record)
        if record.state is ErasureState.PLANNED:
            report = self._report(record, ErasureState.RESEALED, verdicts, resumed=resumed)
            kept = [v for v in verdicts if v.kept]
            self.store.reseal(record.subject_id, kept, record.successor, self.cipher)
            record = self._advance(record, ErasureState.RESEALED, report)
        if record.state is ErasureState.RESEALED:
            report = self._report(record, ErasureState.NOTIFIED, verdicts)
            if notify:
                report = replace(report, notice_sent=self._notify(record, report, language))
            record = self._advance(record, ErasureState.NOTIFIED, report)
        if record.state is ErasureState.NOTIFIED:
            owners = [subject_owner(record.subject_id)]
            owners += [r.successor for r in earlier if r.id != record.id]
            self.shred_list.append(
                ShredEntry(
                    erasure_id=record.id,
                    at=iso(self.clock()),
                    controller=record.controller,
                    subject_ref=self.audit.subject_ref(record.subject_id),
                    owner_refs=tuple(self.audit.ref("owner", o) for o in owners),
                )
            )
            for owner in owners:
                self.cipher.destroy_key(owner)
            report = replace(
                ErasureReport.from_json(record.report),
                state=ErasureState.SHREDDED.value,
                key_destroyed=True,
            )
            record = self._advance(record, ErasureState.SHREDDED, report)
        if record.state is ErasureState.SHREDDED:
            # judged again after the shred: the same verdicts (same as_of, same rows)
            self.store.purge(record.subject_id, self.judged(record), self.purge_batch)
            self.store.settle()
            report = replace(
                ErasureReport.from_json(record.report), state=ErasureState.COMPLETED.value
            )
            self._audit(record, by, report)
            record = self._advance(record, ErasureState.COMPLETED, report, final=True)
        return replace(ErasureReport.from_json(record.report), resumed=resumed)

    def _notify(self, record: ErasureRecord, report: ErasureReport, language: str) -> bool:
        lang = language if language in ("nl", "en") else "nl"
        try:
            to = self.address(record.subject_id)
        except CarPrivacyError:
            to = None
        if not to:
            return False  # no address held: the report says so; staff write by post
        names = {
            c.id: c.short_name for c in self.policy.controllers if record.controller in (ALL, c.id)
        }
        body = notice_text(report, names, lang)
        self.outbox.send(to, SUBJECT[lang], body, reference=f"erasure:{record.id}")
        return True

    def _audit(self, record: ErasureRecord, by: Caller, report: ErasureReport) -> None:
        categories = sorted({g.category for g in report.erased})
        self.audit.append(
            [
                AuditRecord(
                    at=iso(self.clock()),
                    caller_id=by.id,
                    organisation=by.organisation,
                    role=by.role.value,
                    purpose=ERASURE_PURPOSE,
                    subject_ref=self.audit.subject_ref(record.subject_id),
                    vehicle_ref="",
                    categories=",".join(categories),
                    outcome="allow",
                    rule="erasure.completed",
                    form="",
                    action=f"erasure {record.id} controller={record.controller}"[:120],
                )
            ]
        )

    # -- after a restore ---------------------------------------------------------------------

    def replay(self, keys_of: Callable[[list[str]], set[str]]) -> list[str]:
        """Replay the shred list on a restored database: every listed erasure is carried out
        again (without a second notice) and every listed key destroyed. ``keys_of(owners)``
        answers which of those owners have a live data key. Returns the erasure ids replayed."""
        refs = {self.audit.subject_ref(s): s for s in self.store.subject_ids()}
        system = Caller(RESTORE_CALLER, CallerKind.MACHINE, Role.SERVICE, "")
        done: list[str] = []
        for entry in self.shred_list.entries():
            subject_id = refs.get(entry.subject_ref)
            if subject_id is None:
                continue  # not in this database (erased before the backup and purged)
            owner = subject_owner(subject_id)
            candidates = [owner] + [
                f"{owner}/kept{n}" for n in range(1, 2 + len(self.store.of_subject(subject_id)) + 8)
            ]
            listed = {o for o in candidates if self.audit.ref("owner", o) in entry.owner_refs}
            live = keys_of(sorted(listed))
            settled = any(
                r.state is ErasureState.COMPLETED and r.controller in (entry.controller, ALL)
                for r in self.store.of_subject(subject_id)
            )
            if live or not settled:
                self.erase(
                    subject_id,
                    system,
                    f"replay of erasure {entry.erasure_id} after a restore",
                    entry.controller,
                    notify=False,
                )
                for o in sorted(listed):
                    self.cipher.destroy_key(o)
                done.append(entry.erasure_id)
        return done


RESTORE_CALLER = "system:restore"
