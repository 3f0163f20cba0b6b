"""comments by email whatever its case: an index on lower(email)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_comments_email_lower', 'comments', [sa.text('lower(email)')], unique=False)


def downgrade() -> None:
    op.drop_index('ix_comments_email_lower', table_name='comments')
