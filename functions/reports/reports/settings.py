"""Settings of the reports function (environment variables, prefix ``SPREADPILOT_``)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr

from spreadpilot.settings import CommonSettings


class ReportsSettings(CommonSettings):
    """Where statements go and who sends and receives them."""

    statements_dir: str = Field(
        default="out/statements",
        description="SPREADPILOT_STATEMENTS_DIR: local folder for statements (local stack and demo; an absolute "
        "path is safest, a relative one is relative to the function's working directory). Ignored when a bucket "
        "is set.",
    )
    statements_bucket: str = Field(
        default="",
        description="SPREADPILOT_STATEMENTS_BUCKET: Cloud Storage bucket for statements in production; empty = "
        "use the local folder.",
    )
    statement_sender: str = Field(
        default="statements@spreadpilot.example",
        validation_alias=AliasChoices("SPREADPILOT_STATEMENT_SENDER", "SPREADPILOT_EMAIL_FROM"),
        description="SPREADPILOT_STATEMENT_SENDER (or the shared SPREADPILOT_EMAIL_FROM): the From address of "
        "statement emails (a verified SendGrid sender in production).",
    )
    statement_admin_copy: str = Field(
        default="",
        validation_alias=AliasChoices("SPREADPILOT_STATEMENT_ADMIN_COPY", "SPREADPILOT_ADMIN_EMAIL"),
        description="SPREADPILOT_STATEMENT_ADMIN_COPY (or the shared SPREADPILOT_ADMIN_EMAIL): an admin address "
        "copied on every statement email; empty = no copy.",
    )
    sendgrid_api_key: SecretStr = Field(
        default=SecretStr(""),
        description="SPREADPILOT_SENDGRID_API_KEY: SendGrid API key, injected from the Secret Manager secret "
        "sendgrid-api-key (any non-empty value for the local sink).",
    )
    company_name: str = Field(
        default="SpreadPilot",
        description="SPREADPILOT_COMPANY_NAME: the name on statements and in email subjects.",
    )
