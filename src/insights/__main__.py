from insights.cli.app import main

main()
