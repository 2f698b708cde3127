"""Stage 4, the quarterly report: runner, notebook execution, headlines and the action-list workbook."""
