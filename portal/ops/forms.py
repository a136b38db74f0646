"""Admin forms: the target form with its write-only password, and the schedule form.

Forms only shape input. Whether a revision exists, whether the user may run
it, and whether the typed-back name matches are decided by ``services``.
"""

from __future__ import annotations

from django import forms

from migrations_ops.errors import BadDSN
from migrations_ops.schema.retry import MAX_LOCK_RETRIES
from migrations_ops.target import TargetConn

from .models import Run, Target

# Operations the schedule flow offers (copy and verify have their own pages).
SCHEDULABLE = [
    (Run.Operation.UPGRADE, Run.Operation.UPGRADE.label),
    (Run.Operation.DOWNGRADE, Run.Operation.DOWNGRADE.label),
    (Run.Operation.STAMP, Run.Operation.STAMP.label),
]
# Symbolic revisions offered next to the project's ids in the datalist.
SYMBOLIC_REVISIONS = ("head", "heads", "base", "+1", "-1")


def password_state(target: Target) -> str:
    """What a page may say about a target's password: never the password itself."""
    if target.password_env:
        return f"from env {target.password_env}"
    if target.password_encrypted:
        return "set (encrypted)"
    return "not set"


def _engine_sslmode(mode: str | None) -> str:
    """The form's sslmode as the engine checks it ("default" is resolved per host when connecting)."""
    return "prefer" if not mode or mode == Target.SSLMode.DEFAULT else mode


class TargetForm(forms.ModelForm):
    """Target settings; the password is write-only and left empty means unchanged."""

    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: stored encrypted, never shown again. Leave empty to keep the current one; "
                  "changing host, port, database, user, TLS or auth settings clears it unless entered again.",
    )

    class Meta:
        model = Target
        fields = [
            "name", "environment", "project", "is_active",
            "host", "port", "dbname", "user", "sslmode", "sslrootcert", "allow_password_auth",
            "password_env", "lock_timeout_ms", "statement_timeout_ms", "lock_retries",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Left empty (or posted by an older client without it): the model's default.
        if "lock_retries" in self.fields:
            self.fields["lock_retries"].required = False

    def clean_lock_retries(self) -> int:
        value = self.cleaned_data.get("lock_retries")
        return Target._meta.get_field("lock_retries").default if value is None else value

    def clean(self):
        data = super().clean()
        # The engine's own check of the connection parts, so a bad host shows on the form.
        try:
            TargetConn(
                host=data.get("host") or "", port=data.get("port") or 5432, dbname=data.get("dbname") or "",
                user=data.get("user") or "", sslmode=_engine_sslmode(data.get("sslmode")),
            )
        except BadDSN as exc:
            raise forms.ValidationError(str(exc)) from None
        return data

    def new_password(self) -> str | None:
        """The password to store, or None to keep the current one."""
        return self.cleaned_data.get("password") or None


class ScheduleForm(forms.Form):
    """First step of the schedule flow: what to run; the plan is previewed next."""

    operation = forms.ChoiceField(choices=SCHEDULABLE, initial=Run.Operation.UPGRADE)
    revision = forms.CharField(
        max_length=200, initial="head",
        help_text="head, heads, a revision id (a unique prefix is enough), +N, -N, base, or label@head.",
        widget=forms.TextInput(attrs={"list": "known-revisions", "autocomplete": "off", "size": 40}),
    )
    lock_timeout_ms = forms.IntegerField(
        required=False, min_value=1, label="lock_timeout (ms)",
        help_text="Empty: the target's setting.",
    )
    statement_timeout_ms = forms.IntegerField(
        required=False, min_value=1, label="statement_timeout (ms)",
        help_text="Empty: the target's setting.",
    )
    lock_retries = forms.IntegerField(
        required=False, min_value=0, max_value=MAX_LOCK_RETRIES, label="Retries on lock_timeout",
        help_text="Empty: the target's setting. 0: fail at the first lock timeout.",
    )

    def clean_revision(self) -> str:
        return self.cleaned_data["revision"].strip()


class ConfirmForm(ScheduleForm):
    """Second step: the same fields carried hidden, plus the name typed back where needed."""

    expected_from = forms.CharField(required=False, widget=forms.HiddenInput)
    sql_hash = forms.CharField(required=False, widget=forms.HiddenInput)
    confirm_name = forms.CharField(
        required=False, label="Type the target's name to confirm",
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": 30}),
    )
    acknowledge_preview_failure = forms.BooleanField(
        required=False, label="I have read why the SQL preview stopped; schedule it anyway",
    )

    def expected_heads(self) -> list[str]:
        raw = self.cleaned_data.get("expected_from") or ""
        return [h for h in raw.split(",") if h]


class BackendActionForm(forms.Form):
    """Cancel / terminate a backend: first the pid and the start it had on the page, then a reason.

    The reason is required only on the confirming POST (``post=yes``); the
    services refuse an empty one anyway.
    """

    pid = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    backend_start = forms.CharField(max_length=64, widget=forms.HiddenInput)
    reason = forms.CharField(
        required=False, max_length=500, label="Reason",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80, "placeholder": "e.g. idle in transaction for 2 h, "
                                     "blocks the 02:00 migration; owner informed"}),
    )

    def __init__(self, *args, confirming: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = confirming
