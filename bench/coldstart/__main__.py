from bench.coldstart.run import main

main()
