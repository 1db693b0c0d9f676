import sys

from toc.desktop.app import main

sys.exit(main())
