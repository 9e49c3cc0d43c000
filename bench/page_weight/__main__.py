from bench.page_weight.run import main

main()
