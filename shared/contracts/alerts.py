"""Events of the alerts service: alerts (Services Directive, professional qualifications) and
notifications, one-to-many.

Every event carries the alert's identity and state (id, kind, procedure, area, version, state,
sender authority and country, acting user, time) so that the gateway and national systems act on
it without asking. Fan-out is told in batches: a broadcast or a dissemination publishes one event
per recipient country, listing that country's new recipient authorities and the users to tell,
never one message per recipient. No event carries personal data: the professional's identity,
answers to personal-data questions and free texts stay in the service.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from shared.contracts import Event

# --- what every event of an alert or notification carries -----------------------------------


class AlertEvent(Event):
    """Identity and state of the alert or notification the event is about."""

    alert_id: uuid.UUID
    kind: str  # services_alert | pq_alert | notification
    procedure: str
    area: str
    catalogue_version: str
    version: int
    state: str
    sender_authority_id: uuid.UUID
    sender_country: str
    acting_user_id: uuid.UUID | None = None  # None when the service itself acted (jobs)
    occurred_at: datetime
    send_by: date | None = None  # professional-qualifications alerts: decision date + 3 days
    # Countries where at least one authority holds the alert in its inbox, after the action.
    recipient_countries: tuple[str, ...] = ()


class FanOutFields(AlertEvent):
    """One recipient country's share of a broadcast or dissemination."""

    country: str
    recipient_authority_ids: tuple[uuid.UUID, ...]
    # Users of those authorities who hold the role that handles the alert (to notify each).
    recipient_user_ids: tuple[uuid.UUID, ...] = ()
    batch: int = 1  # this event's position among the action's events (1-based)
    batches: int = 1  # how many events the action published, one per country


class BroadcastFields(FanOutFields):
    countries: tuple[str, ...] = ()  # the countries the sender side chose
    all_countries: bool = False


class DisseminatedFields(FanOutFields):
    procedures: tuple[str, ...] = ()  # dissemination criteria chosen by the coordinator
    regions: tuple[str, ...] = ()


class RecipientActionFields(AlertEvent):
    recipient_authority_id: uuid.UUID
    recipient_country: str


class CommentedFields(RecipientActionFields):
    comment_id: uuid.UUID
    language: str


class UpdatedFields(AlertEvent):
    update_id: uuid.UUID


class RectifiedFields(AlertEvent):
    content_version: int
    reason: str | None = None


class ReasonFields(AlertEvent):
    reason: str | None = None


class PersonalDataFields(AlertEvent):
    ended_at: datetime  # closure or withdrawal the retention period runs from
    retention_months: int


# --- alerts ----------------------------------------------------------------------------------


class AlertSubmitted(AlertEvent):
    """A Services Directive alert was submitted to its country's alert coordinators."""

    type = "alerts.alert.submitted"
    coordinator_user_ids: tuple[uuid.UUID, ...] = ()


class AlertApproved(AlertEvent):
    """The sender country's alert coordinator approved the alert for broadcast."""

    type = "alerts.alert.approved"


class AlertRejected(ReasonFields):
    """The sender country's alert coordinator sent the alert back, with the reason."""

    type = "alerts.alert.rejected"


class AlertBroadcast(BroadcastFields):
    """One country's share of an alert's broadcast (one event per recipient country)."""

    type = "alerts.alert.broadcast"


class AlertDisseminated(DisseminatedFields):
    """A receiving coordinator disseminated the alert to authorities of its own country."""

    type = "alerts.alert.disseminated"


class AlertAcknowledged(RecipientActionFields):
    """A recipient authority acknowledged the alert."""

    type = "alerts.alert.acknowledged"


class AlertCommented(CommentedFields):
    """A recipient authority commented on the alert."""

    type = "alerts.alert.commented"


class AlertUpdated(UpdatedFields):
    """The sender added information to the alert."""

    type = "alerts.alert.updated"


class AlertRectified(RectifiedFields):
    """The sender replaced the alert's content; the previous content is kept in its history."""

    type = "alerts.alert.rectified"


class AlertWithdrawn(ReasonFields):
    """The sender withdrew the alert because it was unfounded."""

    type = "alerts.alert.withdrawn"


class AlertClosed(ReasonFields):
    """The sender closed the alert: the risk is over or the decision expired."""

    type = "alerts.alert.closed"


class AlertOverdue(AlertEvent):
    """A professional-qualifications alert was not sent within 3 days of its decision."""

    type = "alerts.alert.overdue"


class AlertPersonalDataBlocked(PersonalDataFields):
    """The alert's personal data are blocked: only a data protection administrator may see
    them, with a recorded justification."""

    type = "alerts.alert.personal_data_blocked"


class AlertPersonalDataDeleted(PersonalDataFields):
    """The alert's personal data were deleted; its non-personal shell remains."""

    type = "alerts.alert.personal_data_deleted"


# --- notifications ---------------------------------------------------------------------------


class NotificationBroadcast(BroadcastFields):
    """One country's share of a notification's broadcast (one event per recipient country)."""

    type = "alerts.notification.broadcast"


class NotificationCommented(CommentedFields):
    """A recipient commented on the notification."""

    type = "alerts.notification.commented"


class NotificationUpdated(UpdatedFields):
    """The sender added information to the notification."""

    type = "alerts.notification.updated"


class NotificationRectified(RectifiedFields):
    """The sender modified the notification's content; the previous content is kept."""

    type = "alerts.notification.rectified"


class NotificationClosed(ReasonFields):
    """The sender closed the notification."""

    type = "alerts.notification.closed"


class NotificationPersonalDataBlocked(PersonalDataFields):
    type = "alerts.notification.personal_data_blocked"


class NotificationPersonalDataDeleted(PersonalDataFields):
    type = "alerts.notification.personal_data_deleted"


ALERT_EVENTS: dict[str, type[AlertEvent]] = {
    "submitted": AlertSubmitted,
    "approved": AlertApproved,
    "rejected": AlertRejected,
    "broadcast": AlertBroadcast,
    "disseminated": AlertDisseminated,
    "acknowledged": AlertAcknowledged,
    "commented": AlertCommented,
    "updated": AlertUpdated,
    "rectified": AlertRectified,
    "withdrawn": AlertWithdrawn,
    "closed": AlertClosed,
    "overdue": AlertOverdue,
    "personal_data_blocked": AlertPersonalDataBlocked,
    "personal_data_deleted": AlertPersonalDataDeleted,
}
NOTIFICATION_EVENTS: dict[str, type[AlertEvent]] = {
    "broadcast": NotificationBroadcast,
    "commented": NotificationCommented,
    "updated": NotificationUpdated,
    "rectified": NotificationRectified,
    "closed": NotificationClosed,
    "personal_data_blocked": NotificationPersonalDataBlocked,
    "personal_data_deleted": NotificationPersonalDataDeleted,
}
