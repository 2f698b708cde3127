from insights.cli import main

main()
