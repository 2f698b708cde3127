"""insights: customer-success analytics for B2B subscription companies.

The package holds every piece of logic; notebooks under ``notebooks/`` only set
parameters, call into it and draw figures.
"""

__version__ = "0.1.0"
