"""comments: ids never reused (SQLite AUTOINCREMENT), an index on lower(email)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# Tables that keep comment ids without a foreign key: an id they name is never handed out again.
_KEEP_IDS = ("audit_log", "sent_notifications", "subscriptions", "email_link_uses")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # PostgreSQL's sequences never hand out an id twice
        # db.migrate turns foreign keys off around this: rebuilding the table keeps replies and
        # webmentions pointing at their comments.
        with op.batch_alter_table('comments', recreate='always', table_kwargs={'sqlite_autoincrement': True}):
            pass
        highest = " , ".join(f"coalesce((SELECT max(comment_id) FROM {table}), 0)" for table in _KEEP_IDS)
        op.execute("DELETE FROM sqlite_sequence WHERE name = 'comments'")
        op.execute(f"INSERT INTO sqlite_sequence (name, seq) SELECT 'comments', "
                   f"max(coalesce((SELECT max(id) FROM comments), 0), {highest})")
    op.create_index('ix_comments_email_lower', 'comments', [sa.text('lower(email)')], unique=False)


def downgrade() -> None:
    op.drop_index('ix_comments_email_lower', table_name='comments')
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table('comments', recreate='always', table_kwargs={'sqlite_autoincrement': False}):
            pass
