// tunstack: the one command-line tool: demo, up, ping and nc (see CommandLine).
return TunStack.Cli.CommandLine.Run(args, Console.Out, Console.Error);
