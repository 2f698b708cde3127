"""Account metrics on an observation date, one module per metric family.

Each family function takes the table(s) it reads, the observation date ``t``, the accounts to
measure and the look-back ``Windows`` (``windows``), and returns a DataFrame indexed by account_id.
Nothing dated on or after ``t`` is read. ``insights.metrics.snapshots.features_at`` composes them:

=========================  ===================  ==========================================
family                     module               columns
=========================  ===================  ==========================================
``contract_metrics``       ``contract``         contract_id, renewal_date, arr, seats,
                                                tenure_years, revenue_growth, days_to_renewal
``usage_metrics``          ``usage``            utilisation, depth, breadth, active_share,
                                                price_per_active_user
``survey_metrics``         ``surveys``          satisfaction, perceived_value
``support_metrics``        ``support``          support_burden, urgent_share, csat_180d
``switching_metrics``      ``switching``        integrations, admins, data_volume, switching_cost
``activity_metrics``       ``activities``       onboarding_engagement, save_play_active,
                                                cancellation_requested
=========================  ===================  ==========================================

``contract_metrics`` decides which accounts a snapshot holds (those under contract the day before
``t``); the families that need ARR, seats or tenure take its output as ``terms``.
"""

from insights.metrics.features.activities import activity_metrics
from insights.metrics.features.contract import contract_metrics
from insights.metrics.features.support import support_metrics
from insights.metrics.features.surveys import survey_metrics
from insights.metrics.features.switching import switching_metrics
from insights.metrics.features.usage import usage_metrics
from insights.metrics.features.windows import Windows

__all__ = [
    "Windows",
    "activity_metrics",
    "contract_metrics",
    "support_metrics",
    "survey_metrics",
    "switching_metrics",
    "usage_metrics",
]
