import { BadRequestException, Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { extractTraceIds } from '@threadreel/analysis';
import type { CaptureOverviewDto, LogSearchDto, LookupDto } from '@threadreel/model';
import { ReplayReader } from '@threadreel/store';
import { bad, int, text, traceId, uuid } from './params.js';
import { ReplayService } from './replay.service.js';

const MAX_LOOKUP_TEXT = 100_000;

@ApiTags('search')
@Controller('api')
export class SearchController {
  constructor(
    private readonly reader: ReplayReader,
    private readonly replay: ReplayService,
  ) {}

  @Get('logs')
  @ApiOperation({
    summary:
      'Log records carrying a trace id and/or containing text (case-insensitive), newest capture first',
  })
  @ApiQuery({ name: 'traceId', required: false })
  @ApiQuery({ name: 'q', required: false })
  @ApiQuery({ name: 'capture', required: false })
  @ApiQuery({ name: 'limit', required: false, description: '1..1000, default 100' })
  @ApiOkResponse({
    description:
      '{ rows: [{ captureId, timeNs, level, threadName, tid, traceIds, spanId, logger, message }], truncated }',
  })
  async logs(@Query() query: Record<string, unknown>): Promise<LogSearchDto> {
    const t = traceId('traceId', query.traceId);
    const q = text('q', query.q);
    if (t === undefined && q === undefined) throw bad('traceId', 'traceId and/or q');
    if (q !== undefined && q.length > 200) throw new BadRequestException('q: at most 200 characters');
    return this.reader.searchLogs({
      traceId: t,
      q,
      captureId: uuid('capture', query.capture),
      limit: int('limit', query.limit, 1, 1000, 100),
    });
  }

  @Get('lookup')
  @ApiOperation({
    summary:
      'Trace ids found in pasted text (traceparent, 32-hex, trace_id= fields, Datadog decimal ids, URLs) and their requests',
  })
  @ApiQuery({ name: 'text', required: true })
  @ApiOkResponse({ description: '{ found: [{ traceId, from, text }], requests: [row] }' })
  async lookup(@Query('text') raw: unknown): Promise<LookupDto> {
    const t = text('text', raw);
    if (t === undefined) throw bad('text', 'some text to search for trace ids');
    if (t.length > MAX_LOOKUP_TEXT)
      throw new BadRequestException(`text: at most ${MAX_LOOKUP_TEXT} characters`);
    const found = extractTraceIds(t);
    const full = found.map((f) => f.traceId);
    const low = found.filter((f) => f.from === 'decimal').map((f) => f.traceId.slice(16));
    return { found, requests: await this.reader.requestsByTraceIds(full, low, 100) };
  }

  @Get('capture-overview')
  @ApiOperation({
    summary:
      'Per capture: formats of its files, ingest progress, request count, span files and time range (ns on the epoch axis)',
  })
  @ApiQuery({ name: 'capture', required: false, description: 'capture uuid: only this one' })
  @ApiOkResponse({
    description:
      '[{ captureId, formats: [{ format, files }], filesDone, files, requests, spanFiles, fromNs, toNs }]',
  })
  async captureOverview(@Query('capture') capture: unknown): Promise<CaptureOverviewDto[]> {
    return this.replay.captureOverview(uuid('capture', capture));
  }
}
