"""webmentions: comment kind and mention facts, received and sent webmentions

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='comment', nullable=False))
        batch_op.add_column(sa.Column('mention', sa.Text(), nullable=True))

    op.create_table('webmentions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=2000), nullable=False),
    sa.Column('target', sa.String(length=2000), nullable=False),
    sa.Column('thread', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=True),
    sa.Column('remote_addr', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=500), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('received', sa.DateTime(), nullable=False),
    sa.Column('checked', sa.DateTime(), nullable=True),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['comments.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('comment_id'),
    sa.UniqueConstraint('key'),
    sa.UniqueConstraint('token')
    )
    with op.batch_alter_table('webmentions', schema=None) as batch_op:
        batch_op.create_index('ix_webmentions_status_received', ['status', 'received'], unique=False)

    op.create_table('sent_webmentions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('thread', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=2000), nullable=False),
    sa.Column('target', sa.String(length=2000), nullable=False),
    sa.Column('linked', sa.Boolean(), nullable=False),
    sa.Column('sent_digest', sa.String(length=64), nullable=True),
    sa.Column('wanted_digest', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('endpoint', sa.String(length=2000), nullable=False),
    sa.Column('response', sa.Text(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('updated', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('sent_webmentions', schema=None) as batch_op:
        batch_op.create_index('ix_sent_webmentions_thread', ['thread'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sent_webmentions', schema=None) as batch_op:
        batch_op.drop_index('ix_sent_webmentions_thread')
    op.drop_table('sent_webmentions')
    with op.batch_alter_table('webmentions', schema=None) as batch_op:
        batch_op.drop_index('ix_webmentions_status_received')
    op.drop_table('webmentions')
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('mention')
        batch_op.drop_column('kind')
