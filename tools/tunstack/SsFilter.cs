using System.Globalization;
using TunStack.Ip;

namespace TunStack.Cli;

/// <summary>
/// The filter of <c>tunstack ss</c>, in iproute2 ss's words: state filters first
/// (<c>state established</c>, <c>state listening</c>, <c>exclude time-wait</c>; the groups
/// <c>all</c>, <c>connected</c>, <c>synchronized</c>, <c>bucket</c> and <c>big</c>), then an
/// expression over the endpoints: <c>dport = :80</c>, <c>sport &gt;= :1024</c>, <c>dst 10.0.0.2</c>,
/// <c>src 10.77.0.0/24:7</c>, <c>dst [fd77::1]:80</c>, joined with <c>and</c> (or nothing),
/// <c>or</c>, <c>not</c> and parentheses. A port comparison takes <c>=</c> <c>==</c> <c>!=</c>
/// <c>&lt;</c> <c>&gt;</c> <c>&lt;=</c> <c>&gt;=</c> or their words <c>eq</c> <c>ne</c> <c>lt</c>
/// <c>gt</c> <c>le</c> <c>ge</c>; an address one <c>=</c> or <c>!=</c>. A socket without a peer
/// (a listener, an unconnected UDP socket) has the unspecified address and port 0 as its peer, as in ss.
/// </summary>
public sealed class SsFilter
{
    /// <summary>Every socket passes (no state filter, no expression).</summary>
    public static readonly SsFilter Everything = new([], null, null);

    private static readonly string[] s_allStates =
        ["ESTAB", "SYN-SENT", SocketEntry.SynReceived, "FIN-WAIT-1", "FIN-WAIT-2", SocketEntry.TimeWait, SocketEntry.Unconnected, "CLOSE-WAIT", "LAST-ACK", SocketEntry.Listen, "CLOSING"];

    private static readonly Dictionary<string, string[]> s_stateNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["established"] = ["ESTAB"],
        ["syn-sent"] = ["SYN-SENT"],
        ["syn-recv"] = [SocketEntry.SynReceived],
        ["fin-wait-1"] = ["FIN-WAIT-1"],
        ["fin-wait-2"] = ["FIN-WAIT-2"],
        ["time-wait"] = [SocketEntry.TimeWait],
        ["closed"] = [SocketEntry.Unconnected],
        ["close-wait"] = ["CLOSE-WAIT"],
        ["last-ack"] = ["LAST-ACK"],
        ["closing"] = ["CLOSING"],
        ["listening"] = [SocketEntry.Listen, SocketEntry.Unconnected],
        ["all"] = s_allStates,
        ["connected"] = s_allStates.Except([SocketEntry.Listen, SocketEntry.Unconnected]).ToArray(),
        ["synchronized"] = s_allStates.Except([SocketEntry.Listen, SocketEntry.Unconnected, "SYN-SENT"]).ToArray(),
        ["bucket"] = [SocketEntry.SynReceived, SocketEntry.TimeWait],
        ["big"] = s_allStates.Except([SocketEntry.SynReceived, SocketEntry.TimeWait]).ToArray(),
    };

    private readonly Func<InternetEndpoint, InternetEndpoint, bool>? _expression;

    private SsFilter(IReadOnlyList<string> words, IReadOnlySet<string>? states, Func<InternetEndpoint, InternetEndpoint, bool>? expression)
    {
        Words = words;
        States = states;
        _expression = expression;
    }

    /// <summary>The words the filter was read from (sent to the daemon as they are).</summary>
    public IReadOnlyList<string> Words { get; }

    /// <summary>The ss state names (ESTAB, LISTEN, ...) a socket must be in, or null without a state filter (then -l and -a decide).</summary>
    public IReadOnlySet<string>? States { get; }

    /// <summary>Whether a socket with <paramref name="local"/> and <paramref name="peer"/> passes the expression (states are <see cref="States"/>'s business).</summary>
    public bool Matches(InternetEndpoint local, InternetEndpoint? peer)
        => _expression is null || _expression(local, peer ?? new InternetEndpoint(local.Address.IsV6 ? InternetAddress.AnyV6 : InternetAddress.AnyV4, 0));

    /// <summary>Reads <paramref name="words"/>; null with a one-line <paramref name="problem"/> naming the word it could not take.</summary>
    public static SsFilter? Parse(IReadOnlyList<string> words, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(words);
        problem = null;
        List<string> tokens = Tokens(words);
        if (tokens.Count == 0)
        {
            return Everything;
        }

        HashSet<string>? states = null;
        int at = 0;
        while (at < tokens.Count && tokens[at] is "state" or "exclude" or "excl")
        {
            bool exclude = tokens[at] != "state";
            if (at + 1 >= tokens.Count || !s_stateNames.TryGetValue(tokens[at + 1], out string[]? named))
            {
                problem = at + 1 >= tokens.Count
                    ? $"ss: '{tokens[at]}' needs a state (established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, time-wait, closed, close-wait, last-ack, listening, closing, or all, connected, synchronized, bucket, big)"
                    : $"ss: unknown state '{tokens[at + 1]}' (the states are {string.Join(", ", s_stateNames.Keys)})";
                return null;
            }

            if (exclude)
            {
                states ??= new HashSet<string>(s_allStates, StringComparer.Ordinal);
                states.ExceptWith(named);
            }
            else
            {
                states ??= new HashSet<string>(StringComparer.Ordinal);
                states.UnionWith(named);
            }

            at += 2;
        }

        Func<InternetEndpoint, InternetEndpoint, bool>? expression = null;
        if (at < tokens.Count)
        {
            var reader = new Reader(tokens, at);
            expression = reader.Or();
            if (reader.Problem is null && !reader.AtEnd)
            {
                reader.Fail($"ss: unexpected '{reader.Peek}' in the filter");
            }

            if (reader.Problem is not null)
            {
                problem = reader.Problem;
                return null;
            }
        }

        return new SsFilter(words.ToList(), states, expression);
    }

    // The words split once more at parentheses ("(dport" is "(" and "dport").
    private static List<string> Tokens(IReadOnlyList<string> words)
    {
        var tokens = new List<string>();
        foreach (string word in words)
        {
            int start = 0;
            for (int i = 0; i <= word.Length; i++)
            {
                if (i == word.Length || word[i] is '(' or ')')
                {
                    if (i > start)
                    {
                        tokens.Add(word[start..i]);
                    }

                    if (i < word.Length)
                    {
                        tokens.Add(word[i].ToString());
                    }

                    start = i + 1;
                }
            }
        }

        return tokens;
    }

    // Recursive descent over the tokens: or-terms of and-terms of (not) primaries.
    private sealed class Reader(List<string> tokens, int at)
    {
        private static readonly Func<InternetEndpoint, InternetEndpoint, bool> s_never = static (_, _) => false;
        private int _at = at;

        public string? Problem { get; private set; }

        public bool AtEnd => _at >= tokens.Count;

        public string Peek => AtEnd ? string.Empty : tokens[_at];

        public void Fail(string problem) => Problem ??= problem;

        public Func<InternetEndpoint, InternetEndpoint, bool> Or()
        {
            Func<InternetEndpoint, InternetEndpoint, bool> left = And();
            while (Problem is null && Peek is "or" or "||" or "|")
            {
                _at++;
                Func<InternetEndpoint, InternetEndpoint, bool> l = left, right = And();
                left = (a, b) => l(a, b) || right(a, b);
            }

            return left;
        }

        private Func<InternetEndpoint, InternetEndpoint, bool> And()
        {
            Func<InternetEndpoint, InternetEndpoint, bool> left = Not();
            while (Problem is null && !AtEnd && Peek is not ("or" or "||" or "|" or ")"))
            {
                if (Peek is "and" or "&&" or "&")
                {
                    _at++;
                }

                Func<InternetEndpoint, InternetEndpoint, bool> l = left, right = Not();
                left = (a, b) => l(a, b) && right(a, b);
            }

            return left;
        }

        private Func<InternetEndpoint, InternetEndpoint, bool> Not()
        {
            if (Peek is "not" or "!")
            {
                _at++;
                Func<InternetEndpoint, InternetEndpoint, bool> inner = Not();
                return (a, b) => !inner(a, b);
            }

            if (Peek == "(")
            {
                _at++;
                Func<InternetEndpoint, InternetEndpoint, bool> inner = Or();
                if (Problem is null && Peek != ")")
                {
                    Fail("ss: a '(' in the filter is not closed");
                }

                _at++;
                return inner;
            }

            return Primary();
        }

        // dport/sport [OP] PORT, dst/src [= | !=] ADDRESS[/LENGTH][:PORT].
        private Func<InternetEndpoint, InternetEndpoint, bool> Primary()
        {
            if (AtEnd)
            {
                Fail("ss: the filter ends where a condition was expected (such as dport = :80 or dst 10.0.0.2)");
                return s_never;
            }

            string keyword = tokens[_at++];
            bool port = keyword is "dport" or "sport";
            bool peer = keyword is "dport" or "dst";
            if (!port && keyword is not ("dst" or "src"))
            {
                Fail($"ss: unknown filter word '{keyword}' (the conditions are dport, sport, dst and src, with and, or, not and parentheses)");
                return s_never;
            }

            string op = Operator(port);
            if (AtEnd)
            {
                Fail($"ss: '{keyword}' needs {(port ? "a port, such as :80" : "an address, such as 10.0.0.2 or 10.0.0.0/24:80")}");
                return s_never;
            }

            string value = tokens[_at++];
            if (port)
            {
                if (!TryPort(value, out ushort number))
                {
                    Fail($"ss: {keyword}: '{value}' is not a port (such as :80)");
                    return s_never;
                }

                Func<int, bool> test = Compare(op, number);
                return peer ? (l, p) => test(p.Port) : (l, p) => test(l.Port);
            }

            if (!TryHost(value, out IpPrefix? prefix, out int? hostPort))
            {
                Fail($"ss: {keyword}: '{value}' is not an address pattern (such as 10.0.0.2, 10.0.0.0/24, [fd77::1]:80 or *:80)");
                return s_never;
            }

            bool equal = op != "!=";
            return (l, p) =>
            {
                InternetEndpoint e = peer ? p : l;
                bool match = (prefix is not { } net || net.Contains(e.Address)) && (hostPort is not { } n || e.Port == n);
                return match == equal;
            };
        }

        // The comparison after dport/sport (= when none is given), or = / != after dst/src.
        private string Operator(bool port)
        {
            string? op = Peek switch
            {
                "=" or "==" or "eq" => "=",
                "!=" or "ne" or "neq" => "!=",
                ">" or "gt" when port => ">",
                "<" or "lt" when port => "<",
                ">=" or "ge" or "geq" when port => ">=",
                "<=" or "le" or "leq" when port => "<=",
                _ => null,
            };
            if (op is not null)
            {
                _at++;
            }

            return op ?? "=";
        }

        private static Func<int, bool> Compare(string op, int n) => op switch
        {
            "!=" => p => p != n,
            ">" => p => p > n,
            "<" => p => p < n,
            ">=" => p => p >= n,
            "<=" => p => p <= n,
            _ => p => p == n,
        };

        // ":80", "80" or "*:80".
        private static bool TryPort(string text, out ushort port)
        {
            string digits = text.StartsWith("*:", StringComparison.Ordinal) ? text[2..] : text.StartsWith(':') ? text[1..] : text;
            return ushort.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out port);
        }

        // "10.0.0.2", "10.0.0.0/24", "10.0.0.2:80", "[fd77::1]", "[fd77::/64]:80", "fd77::1", "*:80", ":80".
        private static bool TryHost(string text, out IpPrefix? prefix, out int? port)
        {
            prefix = null;
            port = null;
            string host = text;
            string? portText = null;
            if (text.StartsWith('['))
            {
                int close = text.IndexOf(']', StringComparison.Ordinal);
                if (close < 0 || (close + 1 < text.Length && text[close + 1] != ':'))
                {
                    return false;
                }

                host = text[1..close];
                portText = close + 1 < text.Length ? text[(close + 2)..] : null;
            }
            else if (!IpPrefix.TryParse(text, out _) && text.LastIndexOf(':') is var colon and >= 0)
            {
                host = text[..colon];
                portText = text[(colon + 1)..];
            }

            if (portText is not null and not "*")
            {
                if (!ushort.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out ushort number))
                {
                    return false;
                }

                port = number;
            }

            if (host is "" or "*")
            {
                return portText is not null;
            }

            if (!IpPrefix.TryParse(host, out IpPrefix parsed))
            {
                return false;
            }

            prefix = parsed;
            return true;
        }
    }
}
