"""The audit trail of actions on NATS and on who may reach which account: append-only."""

from django.conf import settings
from django.db import models


class Action(models.TextChoices):
    PUBLISH = "publish", "publish"
    REQUEST = "request", "request"
    PURGE = "purge", "purge"
    DELETE_MESSAGE = "delete_message", "delete message"
    CREATE_STREAM = "create_stream", "create stream"
    UPDATE_STREAM = "update_stream", "edit stream limits"
    DELETE_STREAM = "delete_stream", "delete stream"
    CREATE_TEAM = "create_team", "create team"
    DELETE_TEAM = "delete_team", "delete team"
    GRANT = "grant", "grant an account to a team"
    REVOKE = "revoke", "revoke an account from a team"
    SET_MEMBER = "set_member", "add a team member or change their role"
    REMOVE_MEMBER = "remove_member", "remove a team member"


class Outcome(models.TextChoices):
    OK = "ok", "ok"
    ERROR = "error", "error"


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("audit entries cannot be changed")

    def delete(self):
        raise PermissionError("audit entries cannot be deleted")


class AuditEntry(models.Model):
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+")
    username = models.CharField(max_length=150)  # kept when the user is deleted
    cluster = models.CharField(max_length=100)
    account = models.CharField(max_length=200)
    action = models.CharField(max_length=32, choices=Action.choices)
    target = models.CharField(max_length=300, blank=True)  # the stream or subject acted on
    parameters = models.JSONField(default=dict)  # never secrets; payloads only as a short preview
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    error = models.TextField(blank=True)
    result = models.JSONField(default=dict)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["cluster", "account", "-at"], name="audit_scope")]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.cluster}/{self.account} {self.outcome}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit entries cannot be deleted")
