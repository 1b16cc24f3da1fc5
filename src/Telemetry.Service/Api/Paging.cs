using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;
using Telemetry.Domain.Ingest;

namespace Telemetry.Service.Api;

/// <summary>
/// The query of a paginated list endpoint: <c>limit</c> (items per page, default <see cref="Paging.DefaultLimit"/>,
/// at most <see cref="Paging.MaxLimit"/>) and <c>after</c> (the opaque cursor a previous page's <c>Link</c> header
/// named). Bound from the query string with <c>[AsParameters]</c>, read as text so that a bad value gets the one
/// message of <see cref="Paging.Read"/>.
/// </summary>
public readonly record struct PageQuery([FromQuery(Name = "limit")] string? Limit, [FromQuery(Name = "after")] string? After);

/// <summary>A validated page request: how many items, and the position (sort key) to continue after.</summary>
public sealed record PageRequest(int Limit, PagePosition? After);

/// <summary>Where an item stands in a list's order: a number (a time in ms, or 0) and a tie-breaking id.</summary>
public readonly record struct PagePosition(long Number, string Id);

/// <summary>
/// How a list is ordered for paging: by a number (ascending or descending), then by an id (ordinal, ascending). The
/// cursor is the position of the last item of a page, so the next page continues after it even when items were
/// added or removed in between (an item that moved before the cursor is not seen again; one added after it is).
/// </summary>
public sealed class PageOrder<T>(Func<T, long> number, bool descending, Func<T, string> id)
{
    public PagePosition PositionOf(T item) => new(number(item), id(item));

    public int Compare(PagePosition a, PagePosition b)
    {
        var byNumber = a.Number.CompareTo(b.Number);
        if (byNumber != 0)
        {
            return descending ? -byNumber : byNumber;
        }

        return string.CompareOrdinal(a.Id, b.Id);
    }
}

/// <summary>
/// Pagination of the API's list endpoints (docs/api.md, "Pagination"), one rule in one place: the response body stays a
/// JSON array (the clients that read a whole list before still do, from the first page), and when there is more the
/// <c>Link: &lt;…&gt;; rel="next"</c> header (RFC 8288) names the next page with the same query and the cursor in
/// <c>after</c>. The cursor is base64url text of the last item's position; it is opaque to clients (its layout may
/// change) but not secret.
/// </summary>
public static class Paging
{
    /// <summary>A list ordered by id alone.</summary>
    public static PageOrder<T> ById<T>(Func<T, string> id) => new(_ => 0, descending: false, id);

    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    /// <summary>
    /// The one validation of <c>limit</c> and <c>after</c>: null with the page request, or the problem to answer (400).
    /// </summary>
    public static IResult? Read(PageQuery query, out PageRequest page)
    {
        page = new PageRequest(DefaultLimit, null);
        var limit = DefaultLimit;
        if (query.Limit is not null
            && (!int.TryParse(query.Limit, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > MaxLimit))
        {
            return Results.Problem($"limit must be a whole number from 1 to {MaxLimit}, not '{Visible(query.Limit)}'",
                statusCode: StatusCodes.Status400BadRequest, title: "Invalid page request");
        }

        PagePosition? after = null;
        if (query.After is not null)
        {
            if (Decode(query.After) is not { } position)
            {
                return Results.Problem("after is not a cursor this service gave out (take it from the Link header of the previous page)",
                    statusCode: StatusCodes.Status400BadRequest, title: "Invalid page request");
            }

            after = position;
        }

        page = new PageRequest(limit, after);
        return null;
    }

    /// <summary>
    /// The old <c>max</c> of <c>GET /api/alerts?state=recent</c>, read as a <c>limit</c>: it was clamped to 1..10,000
    /// and never refused, so it is still clamped (now to 1..<see cref="MaxLimit"/>), and what is left is on the next page.
    /// </summary>
    public static PageQuery WithLegacyMax(PageQuery query, int? max) =>
        query.Limit is null && max is { } m ? query with { Limit = Math.Clamp(m, 1, MaxLimit).ToString(CultureInfo.InvariantCulture) } : query;

    /// <summary>
    /// One page of <paramref name="items"/> in <paramref name="order"/>, after the request's cursor, as a JSON array;
    /// sets the <c>Link</c> header to the next page when there is more.
    /// </summary>
    public static IResult Page<T>(HttpContext http, PageRequest page, IEnumerable<T> items, PageOrder<T> order) =>
        Results.Ok(TakeLinked(http, page, items, order));

    /// <summary>
    /// The items of the page (in order), the <c>Link</c> header set to the next page when there is more; for the
    /// endpoints that turn the page's items into something else before they answer.
    /// </summary>
    public static IReadOnlyList<T> TakeLinked<T>(HttpContext http, PageRequest page, IEnumerable<T> items, PageOrder<T> order)
    {
        ArgumentNullException.ThrowIfNull(http);
        var (taken, more) = Take(page, items, order);
        if (more)
        {
            LinkNext(http, order.PositionOf(taken[^1]));
        }

        return taken;
    }

    /// <summary>The items of the page (in order) and whether more follow; pure, for the endpoints that page before they look items up.</summary>
    public static (IReadOnlyList<T> Items, bool More) Take<T>(PageRequest page, IEnumerable<T> items, PageOrder<T> order)
    {
        ArgumentNullException.ThrowIfNull(page);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(order);
        var sorted = items.Select(item => (Item: item, Position: order.PositionOf(item)))
            .Where(x => page.After is not { } after || order.Compare(x.Position, after) > 0)
            .OrderBy(x => x.Position, Comparer<PagePosition>.Create(order.Compare))
            .Take(page.Limit + 1)
            .ToList();
        var more = sorted.Count > page.Limit;
        return ([.. sorted.Take(page.Limit).Select(x => x.Item)], more);
    }

    /// <summary>Sets the <c>Link</c> header for a page whose last item stands at <paramref name="last"/>.</summary>
    static void LinkNext(HttpContext http, PagePosition last)
    {
        ArgumentNullException.ThrowIfNull(http);
        http.Response.Headers.Append(HeaderNames.Link, $"<{NextUrl(http.Request, last)}>; rel=\"next\"");
    }

    /// <summary>
    /// The next page's URL: this request's path and query with <c>after</c> set, as a path-absolute reference (RFC 8288 resolves it against the request's URL, so it stays right
    /// behind a proxy that rewrites the host).
    /// </summary>
    static string NextUrl(HttpRequest request, PagePosition last)
    {
        var query = new QueryBuilder();
        foreach (var (key, values) in request.Query)
        {
            if (key is "after")
            {
                continue;
            }

            foreach (var value in values)
            {
                query.Add(key, value ?? "");
            }
        }

        query.Add("after", Encode(last));
        return $"{request.PathBase}{request.Path}{query.ToQueryString()}";
    }

    static string Encode(PagePosition position) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{position.Number.ToString(CultureInfo.InvariantCulture)}:{position.Id}"));

    static PagePosition? Decode(string cursor)
    {
        if (cursor.Length > 4096)
        {
            return null;
        }

        try
        {
            var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            return colon > 0 && long.TryParse(text.AsSpan(0, colon), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
                ? new PagePosition(number, text[(colon + 1)..])
                : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    static string Visible(string text) => Text.Visible(text.Length > 40 ? text[..40] + "…" : text);
}
