from judgekit.cli.main import entry

entry()
