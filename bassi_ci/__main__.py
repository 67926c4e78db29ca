from bassi_ci.cli import main

main()
