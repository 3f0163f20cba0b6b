"""erased emails: keyed digests of erased addresses, so that no import brings them back

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('erased_emails',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('erased', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('digest')
    )


def downgrade() -> None:
    op.drop_table('erased_emails')
