using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Telemetry.Service.Api;

namespace Telemetry.UnitTests.Api;

/// <summary>The one rule of the API's pagination: limit and cursor validation, order, and the Link to the next page.</summary>
public sealed class PagingTests
{
    sealed record Item(long At, string Id);

    static readonly PageOrder<Item> NewestFirst = new(i => i.At, descending: true, i => i.Id);

    [Theory]
    [InlineData(null, 100)]
    [InlineData("1", 1)]
    [InlineData("1000", 1000)]
    public void A_limit_from_1_to_1000_is_taken_and_none_means_100(string? limit, int expected)
    {
        Assert.Null(Paging.Read(new PageQuery(limit, null), out var page));
        Assert.Equal(expected, page.Limit);
    }

    [Theory]
    [InlineData("0", null)]
    [InlineData("1001", null)]
    [InlineData("-5", null)]
    [InlineData("ten", null)]
    [InlineData(" 5", null)]
    [InlineData(null, "not a cursor")]
    [InlineData(null, "bm8tY29sb24")] // base64url of "no-colon"
    public void Anything_else_is_a_problem(string? limit, string? after) =>
        Assert.NotNull(Paging.Read(new PageQuery(limit, after), out _));

    [Fact]
    public void The_old_max_is_a_limit_clamped_to_1000_and_an_explicit_limit_wins()
    {
        Assert.Equal("1000", Paging.WithLegacyMax(new PageQuery(null, null), 5000).Limit);
        Assert.Equal("1", Paging.WithLegacyMax(new PageQuery(null, null), -3).Limit);
        Assert.Equal("7", Paging.WithLegacyMax(new PageQuery("7", null), 5000).Limit);
        Assert.Null(Paging.WithLegacyMax(new PageQuery(null, null), null).Limit);
    }

    [Fact]
    public void Following_the_Link_walks_the_whole_list_in_order_once_even_when_an_item_goes_in_between()
    {
        List<Item> items = [new(10, "b"), new(30, "a"), new(20, "z"), new(20, "c"), new(5, "q")];
        List<string> seen = [];
        var query = new PageQuery("2", null);
        for (var pages = 0; ; pages++)
        {
            Assert.True(pages < 10, "the Link loops");
            var http = new DefaultHttpContext();
            http.Request.Path = "/api/things";
            http.Request.QueryString = new QueryString("?building=b12&limit=2" + (query.After is null ? "" : $"&after={query.After}"));
            Assert.Null(Paging.Read(query, out var page));
            Paging.Page(http, page, items, NewestFirst);
            var (taken, _) = Paging.Take(page, items, NewestFirst);
            seen.AddRange(taken.Select(i => i.Id));
            if (pages == 0)
            {
                items.RemoveAll(i => i.Id == "a"); // already seen: the next page is unaffected
            }

            var link = http.Response.Headers.Link.ToString();
            if (link.Length == 0)
            {
                break;
            }

            Assert.StartsWith("</api/things?", link, StringComparison.Ordinal);
            Assert.EndsWith(">; rel=\"next\"", link, StringComparison.Ordinal);
            var next = QueryHelpers.ParseQuery(new Uri("http://x" + link[1..link.IndexOf('>', StringComparison.Ordinal)]).Query);
            Assert.Equal("b12", next["building"].ToString());
            Assert.Single(next["after"]);
            query = new PageQuery(next["limit"], next["after"]);
        }

        Assert.Equal(["a", "c", "z", "b", "q"], seen);
    }

    [Fact]
    public void The_last_page_has_no_Link()
    {
        var http = new DefaultHttpContext();
        Assert.Null(Paging.Read(new PageQuery("5", null), out var page));

        Paging.Page(http, page, [new Item(1, "a"), new Item(2, "b")], NewestFirst);

        Assert.Equal(0, http.Response.Headers.Link.Count);
    }
}
