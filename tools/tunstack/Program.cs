// tunstack: the one command-line tool (demo now; up, ping, nc arrive with the TUN driver issue).
return TunStack.Cli.CommandLine.Run(args, Console.Out, Console.Error);
