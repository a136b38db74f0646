"""Forms of the copy and verification pages: they shape input, the services decide.

Whether a path is inside MOP_IMPORT_DIR, whether the user may copy, and
whether the typed-back name matches are ``copying`` / ``services`` rules.
"""

from __future__ import annotations

from django import forms

from migrations_ops.copy.options import FTS_CONTENTFUL_MODES, IF_NOT_EMPTY, TEXT_POLICIES

TEXT_POLICY_CHOICES = [
    ("reject", "Reject the row (NUL bytes, invalid UTF-8)"),
    ("replace", "Replace by U+FFFD and report each replacement"),
]
assert {c for c, _ in TEXT_POLICY_CHOICES} == set(TEXT_POLICIES)
IF_NOT_EMPTY_CHOICES = [
    ("refuse", "Refuse: do not copy into tables that already hold rows"),
    ("truncate", "Truncate: empty those tables first (all together, in the copy's planning transaction; audited)"),
    ("append", "Append: keep their rows; source rows whose keys are already there become rejects "
               "(refused for a table with no key: its rows would be duplicated)"),
    ("append_duplicates", "Append, accepting duplicates: as append, and a table with no key gets the rows "
                          "already there a second time (named in the summary)"),
]
assert {c for c, _ in IF_NOT_EMPTY_CHOICES} == set(IF_NOT_EMPTY)

FTS_CONTENTFUL_CHOICES = [
    ("copy", "Copy into a table with a tsvector column and a GIN index (created when missing)"),
    ("refuse", "Refuse to start until each is named in \"Skip tables\""),
]
assert {c for c, _ in FTS_CONTENTFUL_CHOICES} == set(FTS_CONTENTFUL_MODES)


def _file_choices(files: list[dict]) -> list[tuple[str, str]]:
    return [("", "— choose a file —")] + [(f["name"], f"{f['name']} ({f['size'] / 1e6:.1f} MB)") for f in files]


class CopyOptionsMixin(forms.Form):
    tables = forms.CharField(
        required=False, max_length=2000,
        help_text="Source tables to copy, separated by commas or spaces. Empty: every table that can be copied.",
        widget=forms.TextInput(attrs={"size": 60}),
    )
    create_missing_tables = forms.BooleanField(
        required=False, help_text="Create target tables that do not exist, from the SQLite schema: types with their length, "
                                 "precision and scale, keys, UNIQUE, foreign keys, indexes and CHECKs that translate "
                                 "(the pre-flight shows the mapping and names what is skipped).")
    text_policy = forms.ChoiceField(choices=TEXT_POLICY_CHOICES, initial="reject", label="Bad text")
    max_rejects = forms.IntegerField(
        required=False, min_value=0, label="Stop after N rejects",
        help_text="Empty: never stop; every rejected row is kept for review.")
    drop_secondary_indexes = forms.BooleanField(
        required=False, label="Drop indexes during the load",
        help_text="Empty target tables only: drop plain indexes while loading and rebuild them after "
                  "(foreign keys are always put back afterwards, NOT VALID where orphans exist).")
    defer_constraints = forms.BooleanField(
        required=False, label="Drop keys and indexes of empty tables during the load, rebuild after (fastest)",
        help_text="Primary keys and unique constraints too, rebuilt in parallel after the load. Duplicate rows are "
                  "then not rejected one by one: the final phase stops (constraints not restored) until they are "
                  "removed. A key that tables outside the copy reference is kept.")

    if_not_empty = forms.ChoiceField(
        choices=IF_NOT_EMPTY_CHOICES, required=False, initial="refuse", label="Target tables that already hold rows",
        widget=forms.RadioSelect)
    accept_float4_rounding = forms.BooleanField(
        required=False, label="Accept rounding into real (float4)",
        help_text="Values a real column cannot hold exactly are loaded rounded as PostgreSQL stores them, "
                  "instead of rejected (precision_loss). Recorded with the run and in the audit trail.")
    skip_tables = forms.CharField(
        required=False, max_length=2000, label="Skip tables",
        help_text="Source tables not to copy, separated by commas or spaces. They are listed, with their rows, "
                  "as not copied in the pre-flight, the summary and the verification.",
        widget=forms.TextInput(attrs={"size": 60}))
    fts_contentful = forms.ChoiceField(
        required=False, choices=FTS_CONTENTFUL_CHOICES, initial="copy", label="Full-text tables that hold their own rows",
        help_text="An FTS5 table without content= is the only copy of its rows: never dropped silently.")
    fts_regconfig = forms.CharField(
        required=False, max_length=63, initial="simple", label="Text search configuration",
        help_text="Of the generated tsvector columns (simple, english, ...).")

    def options(self) -> dict:
        d = self.cleaned_data
        return {k: d.get(k) for k in OPTION_FIELDS}


OPTION_FIELDS = ("create_missing_tables", "text_policy", "max_rejects", "drop_secondary_indexes", "defer_constraints",
                 "if_not_empty", "accept_float4_rounding", "skip_tables", "fts_contentful", "fts_regconfig")


class CopySourceForm(CopyOptionsMixin):
    """Step 1: where the SQLite file comes from, and how to copy it."""

    upload = forms.FileField(required=False, help_text="Stored in the import directory (uploads/).")
    pick = forms.ChoiceField(required=False, label="Or a file in the import directory")
    path = forms.CharField(
        required=False, max_length=1000, label="Or its path",
        help_text="Relative to the import directory (or absolute inside it).",
        widget=forms.TextInput(attrs={"size": 60, "autocomplete": "off"}),
    )

    def __init__(self, *args, files_available: list[dict] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pick"].choices = _file_choices(files_available or [])

    def clean(self):
        data = super().clean()
        given = [bool(data.get("upload")), bool(data.get("pick")), bool((data.get("path") or "").strip())]
        if sum(given) == 0:
            raise forms.ValidationError("Upload a SQLite file, pick one from the import directory, or type its path.")
        if sum(given) > 1:
            raise forms.ValidationError("Give one source only: an upload, a picked file, or a path.")
        return data


class CopyConfirmForm(CopyOptionsMixin):
    """Step 2, on the pre-flight page: the same choices carried hidden, plus the name typed back where needed."""

    source = forms.CharField(max_length=1000, widget=forms.HiddenInput)
    non_empty_tables = forms.CharField(required=False, max_length=4000, widget=forms.HiddenInput)
    confirm_name = forms.CharField(
        required=False, label="Type the target's name to confirm",
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": 30}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("tables", *OPTION_FIELDS):
            if name != "if_not_empty":
                self.fields[name].widget = forms.HiddenInput()

    def clean(self):
        """The pre-flight found target tables holding rows: what to do with them is a required, explicit choice."""
        data = super().clean()
        if (data.get("non_empty_tables") or "").strip() and not self.data.get("if_not_empty"):
            self.add_error("if_not_empty", f"Target tables hold rows ({data['non_empty_tables']}): choose refuse, "
                                           "truncate or append.")
        return data


class AbandonForm(forms.Form):
    """Abandon a stopped copy: the reason is required (kept in the audit trail and the target's copy table)."""

    reason = forms.CharField(
        max_length=500, label="Reason",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80, "placeholder": "e.g. source file re-exported with the "
                                     "encoding fixed; a new copy follows"}),
    )


class VerifyForm(forms.Form):
    """A verification: against a SQLite file in the import directory, or of the target alone."""

    pick = forms.ChoiceField(required=False, label="SQLite source in the import directory")
    path = forms.CharField(required=False, max_length=1000, label="Or its path",
                           widget=forms.TextInput(attrs={"size": 60, "autocomplete": "off"}))
    tables = forms.CharField(required=False, max_length=2000, widget=forms.TextInput(attrs={"size": 60}),
                             help_text="Tables to verify, separated by commas or spaces. Empty: all.")
    copy_run = forms.ChoiceField(
        required=False, label="Rejects of copy run",
        help_text="Rows missing in the target that this copy rejected are shown as explained by its rejects "
                  "(with the reason), not as unexplained loss. Empty: the latest copy of this SQLite file into "
                  "this target (ops verify --copy-run N).")
    copy_id = forms.CharField(required=False, max_length=100, label="Or its copy id",
                              widget=forms.TextInput(attrs={"size": 40, "autocomplete": "off"}),
                              help_text="A copy recorded in the target's mop.copy_run (ops verify --copy-id ID).")

    def __init__(self, *args, files_available: list[dict] | None = None,
                 copy_runs: list[tuple[str, str]] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pick"].choices = _file_choices(files_available or [])
        self.fields["copy_run"].choices = [("", "The latest copy of this SQLite file into this target"),
                                           *(copy_runs or [])]

    def source(self, target_only: bool) -> str | None:
        if target_only:
            return None
        d = self.cleaned_data
        return d.get("pick") or (d.get("path") or "").strip() or None
