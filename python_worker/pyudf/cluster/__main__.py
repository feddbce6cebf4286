"""``python -m pyudf.cluster --bundle DIR --address HOST:PORT``"""
from pyudf.cluster.driver import main

if __name__ == "__main__":
    main()
