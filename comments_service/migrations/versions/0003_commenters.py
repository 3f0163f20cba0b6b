"""commenters: edit tokens, edits awaiting their check, thread subscriptions, used email links

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edit_token_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('published_html', sa.Text(), nullable=True))

    op.create_table('subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('thread', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=True),
    sa.Column('confirm_sent_at', sa.DateTime(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('thread', 'email', name='uq_subscriptions_thread_email')
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_subscriptions_email', ['email'], unique=False)

    op.create_table('email_link_uses',
    sa.Column('nonce', sa.String(length=32), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=False),
    sa.Column('moderator', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('nonce')
    )
    with op.batch_alter_table('email_link_uses', schema=None) as batch_op:
        batch_op.create_index('ix_email_link_uses_used_at', ['used_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('email_link_uses', schema=None) as batch_op:
        batch_op.drop_index('ix_email_link_uses_used_at')
    op.drop_table('email_link_uses')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_subscriptions_email')
    op.drop_table('subscriptions')
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('published_html')
        batch_op.drop_column('edit_token_hash')
