namespace TunStack.Cli;

/// <summary>
/// What <c>tunstack ss</c> shows, in ss's letters: -t TCP, -u UDP (neither: both), -l listening
/// sockets only, -a all (listening, connected and TIME-WAIT), -n numeric ports, -i TCP internals,
/// -m socket memory. Without -l or -a, as ss: connected sockets, not listening, bound-only UDP,
/// SYN-RECV or TIME-WAIT ones.
/// </summary>
public sealed record SsOptions(bool Tcp, bool Udp, bool Listening, bool All, bool Numeric, bool Info, bool Memory)
{
    private const string Letters = "tulanim";

    /// <summary>TCP sockets are shown (-t, or neither -t nor -u).</summary>
    public bool ShowsTcp => Tcp || !Udp;

    /// <summary>UDP sockets are shown (-u, or neither -t nor -u).</summary>
    public bool ShowsUdp => Udp || !Tcp;

    /// <summary>
    /// Reads flags such as "-t", "-tan" or "-i" (the request line's words after "ss"). Returns null
    /// with a one-line <paramref name="problem"/> for anything else.
    /// </summary>
    public static SsOptions? Parse(IEnumerable<string> words, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(words);
        var set = new HashSet<char>();
        foreach (string word in words)
        {
            if (word.Length < 2 || word[0] != '-' || word[1] == '-' || word.Skip(1).Any(c => !Letters.Contains(c, StringComparison.Ordinal)))
            {
                problem = $"ss: unknown option '{word}' (the options are -t -u -l -a -n -i -m)";
                return null;
            }

            set.UnionWith(word.Skip(1));
        }

        problem = null;
        return new SsOptions(set.Contains('t'), set.Contains('u'), set.Contains('l'), set.Contains('a'), set.Contains('n'), set.Contains('i'), set.Contains('m'));
    }

    /// <summary>The request words for these options: "-t -a -n".</summary>
    public IEnumerable<string> ToWords()
    {
        bool[] flags = [Tcp, Udp, Listening, All, Numeric, Info, Memory];
        return Letters.Where((_, i) => flags[i]).Select(c => "-" + c);
    }

    /// <summary>Whether a socket in ss state <paramref name="state"/> is shown.</summary>
    public bool ShowsState(string state)
    {
        bool listening = state is SocketEntry.Listen or SocketEntry.Unconnected;
        if (All)
        {
            return true;
        }

        return Listening ? listening : !listening && state is not (SocketEntry.TimeWait or SocketEntry.SynReceived);
    }
}
