from django.dispatch import Signal

# Sent inside the transaction that hands leads to sales (they became MQLs and their leads.HandOver rows are
# written); kwargs: lead_ids, hand_over_ids, at. feedback/ listens and, after commit, opens a cycle keyed to each
# hand-over (so a feedback failure never rolls back the hand-over itself).
leads_handed_over = Signal()

# Sent inside the transaction that gives a lead an owner (claim, assignment, round-robin); kwargs: lead_id,
# owner_id, at, actor_id (None when a task or the round-robin did it). feedback/ records the claim on the open
# cycle; leads/notifications.py tells the new owner when someone else gave them the lead.
lead_owner_set = Signal()

# Sent inside lead_merge's transaction after leads' own rows (hand-overs included, renumbered after the kept
# lead's) moved to `keep`, just before the merged lead is deleted; kwargs: keep_id, merge_id, at. The hook for
# every app that keeps rows about a lead: its receiver moves them onto `keep` here (feedback: cycles, their rules
# and contact attempts), in the merge's transaction. lead_merge then refuses to delete a lead that still has
# rows anywhere (a receiver missing or failing fails the merge instead of losing history by cascade).
lead_merging = Signal()

# Side effects a service asks for, sent inside its transaction; leads/receivers.py turns each into a Celery task
# run after commit. Services never import tasks (tasks import services), so the two cannot import each other.
lead_became_hot = Signal()  # kwargs: lead_ids, at. Announce hot leads to sales.
sla_breaches_found = (
    Signal()
)  # kwargs: breach_ids, notify_manager. Tell owners (and managers) of missed deadlines.
rescore_job_queued = Signal()  # kwargs: job_id. Run a background rescoring job.
import_job_queued = Signal()  # kwargs: job_id. Run a CSV import job in the background.
# Leads wait to be scored (leads/scoring/demands.py); kwargs: hot_ids (leads an event may have made hot: they
# get their own task on the `hot` queue), others (whether other leads wait too: they get an ordinary run).
# The runs are queued after commit.
scoring_demanded = Signal()

# The SLA engine's announcements (sent inside the scan's transaction; alignment's outbox turns each into
# notifications delivered after commit, so a failed delivery never loses the fact).
sla_warnings_found = Signal()  # kwargs: warnings: list of (lead_id, clock_name, due_at). A deadline is near.
# kwargs: steps, a list of {lead_id, clock_name, step (1-based), recipient_ids, at}: the ladder steps one batch
# of the scan fired (one announcement per batch, so their notifications are one write to the outbox).
sla_escalated = Signal()

# Sent inside lead_progress's transaction when a lifecycle move changes a lead's state; kwargs: lead_id,
# from_state, to_state, actor_id, reason, at. leads/notifications.py turns it into outbound webhooks
# (lead.accepted, lead.rejected, lead.sql, lead.won, lead.lost).
lead_state_changed = Signal()
