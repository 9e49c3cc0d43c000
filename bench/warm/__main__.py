from bench.warm.run import main

main()
