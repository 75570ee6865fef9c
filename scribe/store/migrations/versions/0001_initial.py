"""The first store: users, notes, versions, audio, acknowledgements, signatures,
addenda and the audit chain; append-only tables guarded by triggers.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY = ("versions", "acknowledgements", "signatures", "addenda", "audit", "audio")
H = 64  # SHA-256 hex
T = 32  # ISO timestamp


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("credentials", sa.String(200), nullable=False),
        sa.Column("passphrase_hash", sa.String(300), nullable=False),
        sa.Column("needs_cosign", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.String(T), nullable=False),
    )
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.String(T), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("patient", sa.String(200), nullable=True),
        sa.Column("date_of_service", sa.String(10), nullable=True),
        sa.Column("head_version", sa.Integer(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_notes_status", "notes", ["status"])
    op.create_index("ix_notes_patient", "notes", ["patient"])
    op.create_index("ix_notes_date_of_service", "notes", ["date_of_service"])
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("note_id", sa.Integer(), sa.ForeignKey("notes.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(T), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.Column("note_json", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(H), nullable=False),
        sa.UniqueConstraint("note_id", "number"),
    )
    op.create_index("ix_versions_note_id", "versions", ["note_id"])
    op.create_table(
        "audio",
        sa.Column("note_id", sa.Integer(), sa.ForeignKey("notes.id"), primary_key=True),
        sa.Column("filename", sa.String(300), nullable=False),
        sa.Column("mime", sa.String(60), nullable=False),
        sa.Column("sha256", sa.String(H), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "acknowledgements",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("note_id", sa.Integer(), sa.ForeignKey("notes.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("at", sa.String(T), nullable=False),
    )
    op.create_index("ix_acknowledgements_note_id", "acknowledgements", ["note_id"])
    op.create_table(
        "signatures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("note_id", sa.Integer(), sa.ForeignKey("notes.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("credentials", sa.String(200), nullable=False),
        sa.Column("signed_at", sa.String(T), nullable=False),
        sa.Column("content_hash", sa.String(H), nullable=False),
    )
    op.create_index("ix_signatures_note_id", "signatures", ["note_id"])
    op.create_table(
        "addenda",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("note_id", sa.Integer(), sa.ForeignKey("notes.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("credentials", sa.String(200), nullable=False),
        sa.Column("signed_at", sa.String(T), nullable=False),
        sa.Column("content_hash", sa.String(H), nullable=False),
        sa.UniqueConstraint("note_id", "number"),
    )
    op.create_index("ix_addenda_note_id", "addenda", ["note_id"])
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(T), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("note_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(H), nullable=False, unique=True),
        sa.Column("hash", sa.String(H), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_action", "audit", ["action"])
    op.create_index("ix_audit_note_id", "audit", ["note_id"])
    _append_only_triggers()


def _append_only_triggers() -> None:
    """Refuse UPDATE and DELETE on the append-only tables (a change through Scribe's own
    connection is a bug; one from outside is what `scribe verify` reports)."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in APPEND_ONLY:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION scribe_append_only() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION scribe_append_only()"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS scribe_append_only()")
    for table in ("audit", "addenda", "signatures", "acknowledgements", "audio", "versions", "notes", "users"):
        op.drop_table(table)
