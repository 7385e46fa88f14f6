import sys

from shared.contracts import main

sys.exit(main())
