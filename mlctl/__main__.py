from mlctl.cli.entry import main

main()
