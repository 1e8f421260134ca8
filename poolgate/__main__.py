from poolgate.cli import main

raise SystemExit(main())
